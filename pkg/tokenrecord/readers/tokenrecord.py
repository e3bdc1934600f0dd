"""The oauth-token-rotator token record, for Python readers (stdlib only).

The rotator stores one SSM SecureString per profile, named
<prefix>/<profile> (prefix /oauth-tokens by default), whose value is

    {"access_token": "...", "token_type": "Bearer",
     "expires_at": "2026-11-23T10:00:00Z", "issued_at": "...", "profile": "..."}

parse() checks what a reader needs (a JSON object, a non-empty string
access_token, an RFC 3339 expires_at) and ignores every other field.
usable() says whether a parsed record may be served now: only while
now + skew is before expires_at.

ReadGate keeps a failing parameter from being read more than once per 5 s.

Errors are TokenError with .kind one of NOT_FOUND, UNREADABLE, EXPIRED,
READ_FAILED. Their message names the parameter and what is wrong, never the
token or the raw record, and they are raised outside any except block, so
neither __cause__ nor __context__ keeps the value (``raise ... from None``
alone still sets __context__).
"""

import json
import re
from datetime import datetime, timezone

DEFAULT_PREFIX = "/oauth-tokens"
DEFAULT_SKEW = 60.0  # seconds kept before expires_at
DEFAULT_MAX_AGE = 300.0  # seconds a read record is served before re-reading
DEFAULT_MIN_READ_INTERVAL = 5.0  # seconds between two reads of a parameter after a failed one

NOT_FOUND = "not_found"
UNREADABLE = "unreadable"
EXPIRED = "expired"
READ_FAILED = "read_failed"

_PROFILE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class TokenError(Exception):
    """No token can be served. kind says why; parameter names the record."""

    def __init__(self, kind, parameter, detail):
        super().__init__(f"oauth token {parameter}: {detail}")
        self.kind = kind
        self.parameter = parameter
        self.detail = detail


class Record:
    """The fields of a record a reader uses. repr() never shows the token."""

    __slots__ = ("access_token", "expires_at", "read_at")

    def __init__(self, access_token, expires_at, read_at):
        self.access_token = access_token
        self.expires_at = expires_at  # seconds since the epoch
        self.read_at = read_at  # when it was read, by the reader's clock

    def __repr__(self):
        return f"Record(access_token=[redacted {len(self.access_token)} chars], expires_at={self.expires_at})"


def parameter_name(profile, prefix=DEFAULT_PREFIX):
    """Returns the SSM parameter name of a profile's record."""
    if not isinstance(profile, str) or not _PROFILE.match(profile):
        raise ValueError("profile name must be 1 to 128 letters, digits, '.', '_' or '-'")
    return (prefix or DEFAULT_PREFIX).rstrip("/") + "/" + profile


def _unreadable(parameter, what):
    return TokenError(
        UNREADABLE, parameter,
        f"record {what}; the rotator writes a JSON object with a non-empty access_token and an RFC 3339 "
        "expires_at: force a refresh of this profile (invoke the rotator with {\"force\": true})")


def _epoch(text):
    if not isinstance(text, str):
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"  # fromisoformat takes "Z" only from Python 3.11
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()


def parse(value, parameter, read_at):
    """Parses a record value read at read_at. Raises TokenError (UNREADABLE)."""
    doc, ok = None, True
    try:
        doc = json.loads(value)
    except (TypeError, ValueError):
        ok = False
    if not ok:  # raised here, not in the except block, so no __context__ keeps the value
        raise _unreadable(parameter, "is not JSON")
    if not isinstance(doc, dict):
        raise _unreadable(parameter, "is not a JSON object")
    token = doc.get("access_token")
    if not isinstance(token, str) or token == "":
        raise _unreadable(parameter, "has no access_token (missing, empty or not a string)")
    expires_at = _epoch(doc.get("expires_at"))
    if expires_at is None:
        raise _unreadable(parameter, "has no valid expires_at")
    return Record(token, expires_at, read_at)


def usable(record, now, skew=DEFAULT_SKEW):
    """Whether record may be served at now: now + skew is before expires_at."""
    return record is not None and now + skew < record.expires_at


def expired_error(parameter, record):
    """The error for a record that is expired or inside the skew."""
    when = datetime.fromtimestamp(record.expires_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TokenError(
        EXPIRED, parameter,
        f"record expires at {when}, within the skew: the rotator has not replaced it; "
        "check the rotator's errors and alarms")


class ReadGate:
    """Remembers each parameter's last failed read, so that a failing parameter
    (the rotator down, SSM throttling) is read at most once per interval
    instead of on every call: Parameter Store's read quota is shared by the
    whole account."""

    def __init__(self, interval=DEFAULT_MIN_READ_INTERVAL):
        self.interval = interval
        self._failed = {}  # parameter name -> (when, kind, detail)

    def closed(self, name, now):
        """The error to answer without reading, or None when a read may go."""
        f = self._failed.get(name)
        if f is not None and now - f[0] < self.interval:
            return TokenError(f[1], name, f[2])
        return None

    def failed(self, name, now, err):
        self._failed[name] = (now, err.kind, err.detail)

    def succeeded(self, name):
        self._failed.pop(name, None)
