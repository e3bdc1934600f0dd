"""Read oauth-token-rotator tokens from SSM Parameter Store with boto3.

    from boto3_reader import TokenReader
    reader = TokenReader()                      # once per process, outside the handler
    token = reader.token("aviv-caas-agency-42") # reads /oauth-tokens/aviv-caas-agency-42

What is served (the same rules as the Go package pkg/tokencache):
  - a cached token while now + skew (60 s) is before its expires_at and for
    at most max_age (300 s) after it was read; otherwise the parameter is read
    again (GetParameter, WithDecryption);
  - a freshly read record that is unreadable, expired or inside the skew is
    an error, never a token;
  - when a read fails (or yields no usable record) while the cached token is
    still usable by its expiry, the cached token is served; after a failed
    read the parameter is read again only after min_read_interval (5 s);
  - errors are tokenrecord.TokenError and never contain the token or the
    record.
A TokenReader is safe to share between threads; reads are serialized.
Needs tokenrecord.py beside it and boto3 (present in the Lambda Python runtime).
In another account than the rotator's, pass reader_role.ssm_client(...) as
client: it reads through the rotator stack's reader role.
"""

import threading
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import tokenrecord
from tokenrecord import TokenError


class TokenReader:
    def __init__(self, client=None, *, prefix=tokenrecord.DEFAULT_PREFIX, skew=tokenrecord.DEFAULT_SKEW,
                 max_age=tokenrecord.DEFAULT_MAX_AGE, min_read_interval=tokenrecord.DEFAULT_MIN_READ_INTERVAL,
                 now=time.time):
        self._client = client if client is not None else boto3.client("ssm")
        self._prefix, self._skew, self._max_age, self._now = prefix, skew, max_age, now
        self._cache = {}  # parameter name -> tokenrecord.Record
        self._gate = tokenrecord.ReadGate(min_read_interval)
        self._lock = threading.Lock()

    def token(self, profile, parameter=None):
        """Returns the profile's access token (parameter overrides the record's name)."""
        name = parameter or tokenrecord.parameter_name(profile, self._prefix)
        if (tok := self._fresh(name)) is not None:
            return tok
        with self._lock:
            if (tok := self._fresh(name)) is not None:  # another thread has just read it
                return tok
            return self._read(name, profile)

    def _fresh(self, name):
        rec, now = self._cache.get(name), self._now()
        if tokenrecord.usable(rec, now, self._skew) and now - rec.read_at < self._max_age:
            return rec.access_token
        return None

    def _read(self, name, profile):
        old = self._cache.get(name)
        err = self._gate.closed(name, self._now())
        if err is not None:  # it failed less than min_read_interval ago: no read
            if tokenrecord.usable(old, self._now(), self._skew):
                return old.access_token
            raise err
        try:
            rec = self._get(name, profile)
            if not tokenrecord.usable(rec, self._now(), self._skew):
                err = tokenrecord.expired_error(name, rec)
        except TokenError as e:
            err = e
        if err is None:
            self._gate.succeeded(name)
            self._cache[name] = rec
            return rec.access_token
        self._gate.failed(name, self._now(), err)
        if tokenrecord.usable(old, self._now(), self._skew):
            return old.access_token  # a failed read never takes away a token that is still valid
        raise tokenrecord.detached(err)  # no frame below this one, nor its record, stays reachable

    def _get(self, name, profile):
        err, value = None, None
        try:
            out = self._client.get_parameter(Name=name, WithDecryption=True)
            value = out["Parameter"]["Value"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "ParameterNotFound":
                err = TokenError(tokenrecord.NOT_FOUND, name,
                                 "no such parameter: check the profile name and TOKEN_PARAMETER_PREFIX, "
                                 "and that the rotator has run for this profile")
            else:
                err = TokenError(tokenrecord.READ_FAILED, name, f"ssm GetParameter failed: {code or e}")
        except BotoCoreError as e:
            # reader_role.ReaderRoleError explains which role and what to change; others give their type only.
            why = getattr(e, "explanation", None) or type(e).__name__
            err = TokenError(tokenrecord.READ_FAILED, name, f"ssm GetParameter failed: {why}")
        if err is not None:
            raise err
        return tokenrecord.parse(value, name, self._now(), profile)
