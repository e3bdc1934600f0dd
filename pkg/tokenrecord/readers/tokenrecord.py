"""The oauth-token-rotator token record, for Python readers (stdlib only).

The rotator stores one SSM SecureString per profile, named
<prefix>/<profile> (prefix /oauth-tokens by default), whose value is

    {"access_token": "...", "token_type": "Bearer",
     "expires_at": "2026-11-23T10:00:00Z", "issued_at": "...", "profile": "..."}

parse() accepts a record only when the Go reader (pkg/tokenrecord.Parse)
does, and only for the profile asked for (README.md: the rules); it
ignores unknown fields. usable() says whether a parsed record may be
served now: only while now + skew is before expires_at.

ReadGate keeps a failing parameter from being read more than once per 5 s.

Errors are TokenError with .kind one of NOT_FOUND, UNREADABLE, EXPIRED,
READ_FAILED. Their message names the parameter and what is wrong, never the
token or the raw record, and readers raise them detached(): neither
__cause__, __context__ nor a traceback frame keeps the value (``raise ...
from None`` alone still sets __context__).
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

MAX_DEPTH = 100  # levels of objects and arrays a record may nest (Go's reader refuses more)

_PROFILE = re.compile(r"[A-Za-z0-9._-]{1,128}")  # fullmatch: "$" would let a final newline in
_STRING_FIELDS = ("token_type", "fingerprint", "secret_version", "profile")  # strings when present, as in Go's Record
LEASE_SUFFIX = ".lock"  # the rotator's lease parameters end so; no profile name does
_SPACE = re.compile(r"[ \t\r\n]")


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
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile) or profile.endswith(LEASE_SUFFIX):
        raise ValueError("profile name must be 1 to 128 letters, digits, '.', '_' or '-', not ending in .lock")
    return (prefix or DEFAULT_PREFIX).rstrip("/") + "/" + profile


def _unreadable(parameter, what):
    return TokenError(
        UNREADABLE, parameter,
        f"record {what}; force a refresh of this profile (invoke the rotator with "
        '{"force": true}), and check that the prefix names this profile\'s record')


# RFC 3339 as the rotator writes it: a date, T, a time, an optional fraction
# of any length, and Z or an offset with a colon.
_RFC3339 = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
                      r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))")


def _epoch(text):
    """Seconds since the epoch of an RFC 3339 time, or None."""
    m = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return None
    y, mo, d, h, mi, s, oh, om = (int(g or 0) for g in m.group(1, 2, 3, 4, 5, 6, 9, 10))
    if oh > 23 or om > 59:
        return None  # datetime refuses the year 0000 below, as Go does
    try:
        t = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc).timestamp()
    except ValueError:  # month, day, hour, minute or second out of range
        return None
    return t + float(m.group(7) or 0) - (1 if m.group(8) == "+" else -1) * (oh * 3600 + om * 60)


def _depth(text):
    """How deeply the JSON text nests its objects and arrays."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the limit
    level = deepest = 0
    in_string = escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif in_string:
            escaped, in_string = c == "\\", c != '"'
        elif c == '"':
            in_string = True
        elif c in "[{":
            level += 1
            deepest = max(deepest, level)
        elif c in "]}":
            level -= 1
    return deepest


def _not_json(constant):
    """Refuses NaN, Infinity and -Infinity, which json.loads accepts and JSON
    (and Go's reader) does not."""
    raise ValueError(f"{constant} is not JSON")


def _check(value, profile):
    """(access_token, expires_at) of a record Go's tokenrecord.Parse accepts for
    profile (for any profile when None), or what is wrong with it."""
    if isinstance(value, str) and _depth(value) > MAX_DEPTH:
        return f"is nested more than {MAX_DEPTH} levels deep"
    try:
        doc = json.loads(value, parse_constant=_not_json)
    except RecursionError:  # nested too deeply for this interpreter's stack
        return f"is nested more than {MAX_DEPTH} levels deep"
    except (TypeError, ValueError):
        return "is not JSON"
    if not isinstance(doc, dict):
        return "is not a JSON object"
    token = doc.get("access_token")
    if not isinstance(token, str) or token == "" or _SPACE.search(token):
        return "has no access_token (missing, empty, not a string, or with white space)"
    if any(doc.get(k) is not None and not isinstance(doc[k], str) for k in _STRING_FIELDS):
        return "has a token_type, fingerprint, secret_version or profile that is not a string"
    expires_at, issued_at = _epoch(doc.get("expires_at")), _epoch(doc.get("issued_at"))
    if expires_at is None or issued_at is None:
        return "has no valid expires_at or issued_at (RFC 3339, with Z or an offset)"
    if expires_at <= issued_at:
        return "has an expires_at that is not after its issued_at"
    if not doc.get("profile"):
        return "has no profile"
    if profile is not None and doc["profile"] != profile:
        return f"is for another profile, not {profile}"
    return token, expires_at


def parse(value, parameter, read_at, profile=None):
    """Parses profile's record value read at read_at (profile None: any profile's).
    Raises TokenError (UNREADABLE) from a frame that no longer holds the value."""
    checked = _check(value, profile)
    del value  # an error's traceback keeps its frames' locals
    if isinstance(checked, str):
        raise _unreadable(parameter, checked)
    return Record(*checked, read_at)


def detached(err):
    """err without the traceback, cause and context it gathered on its way up:
    their frames hold the raw record, and error reporters print every frame's
    locals. Readers raise detached(err) from a frame that holds no secret."""
    err.__cause__ = err.__context__ = None
    return err.with_traceback(None)


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
