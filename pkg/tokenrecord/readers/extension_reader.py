"""The smallest correct recipe for the AWS Parameters and Secrets Lambda Extension.

    from extension_reader import get_token
    token = get_token("aviv-caas-agency-42")

The extension answers GET http://localhost:2773/systemsmanager/parameters/get
?name=<name>&withDecryption=true (port PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)
when the request carries X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN,
with GetParameter's JSON answer. It caches values for SSM_PARAMETER_STORE_TTL
(up to 300 s) and knows nothing of expires_at, and its API has no way to skip
its cache. So on every call this recipe checks access_token and
expires_at - skew and, when the record from the extension is not usable,
or cannot answer, makes the fresh read itself with boto3 (present in the
Lambda Python runtime). The last usable record is served while it is still valid when a
read fails. After a failed read, a call within 5 s asks neither the extension (which
reads SSM for a value it does not hold) nor SSM. The extension works only during
invocations, not at init.
Errors are tokenrecord.TokenError and never contain the token or the record.
"""

import json
import os
import time
import urllib.parse
import urllib.request

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import tokenrecord
from tokenrecord import TokenError

_last = {}  # parameter name -> last usable tokenrecord.Record
_gate = tokenrecord.ReadGate()  # a failing parameter is read at most once per 5 s, through the extension or not
_ssm = None


def get_token(profile, *, prefix=tokenrecord.DEFAULT_PREFIX, skew=tokenrecord.DEFAULT_SKEW, now=time.time):
    """Returns the profile's access token, read through the extension."""
    name = tokenrecord.parameter_name(profile, prefix)
    err = _gate.closed(name, now())
    if err is not None:  # it failed less than 5 s ago: neither the extension nor SSM is asked
        raise err
    rec = _parse_or_none(_from_extension(name), name, profile, now)
    if tokenrecord.usable(rec, now(), skew):
        _last[name] = rec
        return rec.access_token
    if tokenrecord.usable(_last.get(name), now(), skew):
        # Read from SSM before, while the extension still holds an older copy,
        # or the extension cannot answer now: the last usable token is still valid.
        return _last[name].access_token
    try:
        rec = tokenrecord.parse(_from_ssm(name), name, now(), profile)  # the extension's copy is unusable
        if not tokenrecord.usable(rec, now(), skew):
            err = tokenrecord.expired_error(name, rec)
    except TokenError as e:
        err = e
    if err is None:
        _gate.succeeded(name)
        _last[name] = rec
        return rec.access_token
    _gate.failed(name, now(), err)
    raise tokenrecord.detached(err)  # no frame below this one, nor its record, stays reachable


def _parse_or_none(value, name, profile, now):
    if value is None:
        return None
    try:
        return tokenrecord.parse(value, name, now(), profile)
    except TokenError:
        return None  # read it again from SSM


def _from_extension(name):
    """The value the extension answers, or None when it cannot answer (SSM is read then)."""
    port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
    query = urllib.parse.urlencode({"name": name, "withDecryption": "true"})
    req = urllib.request.Request(
        f"http://localhost:{port}/systemsmanager/parameters/get?{query}",
        headers={"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return json.loads(resp.read())["Parameter"]["Value"]
    except (OSError, ValueError, KeyError, TypeError):  # HTTPError and URLError are OSErrors
        return None


def _from_ssm(name):
    global _ssm
    if _ssm is None:
        _ssm = boto3.client("ssm")
    err, value = None, None
    try:
        value = _ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        kind = tokenrecord.NOT_FOUND if code == "ParameterNotFound" else tokenrecord.READ_FAILED
        err = TokenError(kind, name, f"ssm GetParameter failed: {code or 'unknown error'}")
    except BotoCoreError as e:
        err = TokenError(tokenrecord.READ_FAILED, name, f"ssm GetParameter failed: {type(e).__name__}")
    if err is not None:
        raise err
    return value
