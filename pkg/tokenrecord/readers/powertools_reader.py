"""The smallest correct recipe for Powertools for AWS Lambda (Python) parameters.

    from powertools_reader import get_token
    token = get_token("aviv-caas-agency-42")

Powertools caches the raw value for max_age and knows nothing of expires_at:
alone it serves a token inside the 60 s skew, or one that has expired, from
its cache. So on every call this recipe parses the cached value, checks
access_token and expires_at - skew, and passes force_fetch=True when the
cached record is not usable. Powertools does not serve a stale value when a
read fails, so the last usable record is kept here and served while it is
still valid; a failing parameter is read at most once per 5 s. Do not use transform="json": its errors may carry the value.
Errors are tokenrecord.TokenError and never contain the token or the record.
"""

import time

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

import tokenrecord
from tokenrecord import TokenError

_last = {}  # parameter name -> last usable tokenrecord.Record
_gate = tokenrecord.ReadGate()  # a failing parameter is read at most once per 5 s


def get_token(profile, *, prefix=tokenrecord.DEFAULT_PREFIX, max_age=300, skew=tokenrecord.DEFAULT_SKEW,
              now=time.time):
    """Returns the profile's access token, read through Powertools' cache."""
    name = tokenrecord.parameter_name(profile, prefix)
    err = _gate.closed(name, now())
    if err is not None:
        if tokenrecord.usable(_last.get(name), now(), skew):
            return _last[name].access_token
        raise err
    try:
        # Nothing usable yet: Powertools' cache can hold only a value already
        # rejected, so the first read is a fresh one.
        force = name not in _last
        rec = _read(name, profile, max_age, force, now)  # None when Powertools' cache holds a bad value
        if not tokenrecord.usable(rec, now(), skew) and not force:
            rec = _read(name, profile, max_age, True, now)  # the cached record is unusable: a fresh read
        if not tokenrecord.usable(rec, now(), skew):
            err = tokenrecord.expired_error(name, rec)
    except TokenError as e:
        err = e
    if err is None:
        _gate.succeeded(name)
        _last[name] = rec
        return rec.access_token
    _gate.failed(name, now(), err)
    if tokenrecord.usable(_last.get(name), now(), skew):
        return _last[name].access_token
    raise tokenrecord.detached(err)  # no frame below this one, nor its record, stays reachable


def _read(name, profile, max_age, force, now):
    err, value = None, None
    try:
        value = parameters.get_parameter(name, decrypt=True, max_age=max_age, force_fetch=force)
    except GetParameterError as e:
        # Powertools keeps the code only in the message: "An error occurred (Code) when calling ..."
        code = str(e).partition("(")[2].partition(")")[0]
        if code == "ParameterNotFound":
            err = TokenError(tokenrecord.NOT_FOUND, name, "no such parameter: check the profile name and prefix")
        else:
            err = TokenError(tokenrecord.READ_FAILED, name, f"ssm GetParameter failed: {code or 'unknown error'}")
    if err is not None:
        raise err
    rec = None
    try:
        rec = tokenrecord.parse(value, name, now(), profile)
    except TokenError as e:
        err = e
    if err is not None and force:
        raise err
    return rec
