// The oauth-token-rotator token record, for Node readers (no dependencies).
//
// The rotator stores one SSM SecureString per profile, named
// <prefix>/<profile> (prefix /oauth-tokens by default), whose value is
//   {"access_token":"…","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z",
//    "issued_at":"…","profile":"…"}
// parse() checks what a reader needs (a JSON object, a non-empty string
// access_token, an RFC 3339 expires_at) and ignores every other field;
// usable() says whether a parsed record may be served now: only while
// now + skew is before expires_at. ReadGate keeps a failing parameter from
// being read more than once per 5 s.
//
// Errors are TokenError with .kind one of "not_found", "unreadable",
// "expired", "read_failed". Their message names the parameter and what is
// wrong, never the token or the raw record; they carry no cause that could.

export const DEFAULT_PREFIX = '/oauth-tokens';
export const DEFAULT_SKEW_MS = 60_000; // kept before expires_at
export const DEFAULT_MAX_AGE_MS = 300_000; // a read record is served this long before re-reading
export const DEFAULT_MIN_READ_INTERVAL_MS = 5_000; // between two reads of a parameter after a failed one

const PROFILE = /^[A-Za-z0-9._-]{1,128}$/;

/** No token can be served; kind says why, parameter names the record. */
export class TokenError extends Error {
  constructor(kind, parameter, detail) {
    super(`oauth token ${parameter}: ${detail}`);
    this.name = 'TokenError';
    this.kind = kind;
    this.parameter = parameter;
    this.detail = detail;
  }
}

/**
 * Remembers each parameter's last failed read, so that a failing parameter
 * (the rotator down, SSM throttling) is read at most once per interval
 * instead of on every call: Parameter Store's read quota is shared by the
 * whole account.
 */
export class ReadGate {
  #failed = new Map(); // parameter name -> { at, kind, detail }
  constructor(intervalMs = DEFAULT_MIN_READ_INTERVAL_MS) { this.intervalMs = intervalMs; }
  /** The error to answer without reading, or null when a read may go. */
  closed(name, now) {
    const f = this.#failed.get(name);
    return f && now - f.at < this.intervalMs ? new TokenError(f.kind, name, f.detail) : null;
  }
  failed(name, now, err) { this.#failed.set(name, { at: now, kind: err.kind, detail: err.detail }); }
  succeeded(name) { this.#failed.delete(name); }
}

/** The SSM parameter name of a profile's record. */
export function parameterName(profile, prefix = DEFAULT_PREFIX) {
  if (typeof profile !== 'string' || !PROFILE.test(profile)) {
    throw new TypeError("profile name must be 1 to 128 letters, digits, '.', '_' or '-'");
  }
  return (prefix || DEFAULT_PREFIX).replace(/\/+$/, '') + '/' + profile;
}

function unreadable(parameter, what) {
  return new TokenError('unreadable', parameter,
    `record ${what}; the rotator writes a JSON object with a non-empty access_token and an RFC 3339 ` +
    'expires_at: force a refresh of this profile (invoke the rotator with {"force": true})');
}

/** Parses a record value read at readAt (ms). Throws TokenError ("unreadable"). */
export function parse(value, parameter, readAt) {
  let doc;
  try {
    doc = JSON.parse(value);
  } catch {
    throw unreadable(parameter, 'is not JSON'); // the SyntaxError, which quotes the value, is dropped
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw unreadable(parameter, 'is not a JSON object');
  }
  const token = doc.access_token;
  if (typeof token !== 'string' || token === '') {
    throw unreadable(parameter, 'has no access_token (missing, empty or not a string)');
  }
  const expiresAt = typeof doc.expires_at === 'string' ? Date.parse(doc.expires_at) : NaN;
  if (Number.isNaN(expiresAt)) {
    throw unreadable(parameter, 'has no valid expires_at');
  }
  return Object.freeze({
    accessToken: token,
    expiresAt,
    readAt,
    toJSON: () => ({ accessToken: `[redacted ${token.length} chars]`, expiresAt }),
    [Symbol.for('nodejs.util.inspect.custom')]: () => `Record(expiresAt=${new Date(expiresAt).toISOString()})`,
  });
}

/** Whether record may be served at now (ms): now + skew is before expiresAt. */
export function usable(record, now, skewMs = DEFAULT_SKEW_MS) {
  return record != null && now + skewMs < record.expiresAt;
}

/** The error for a record that is expired or inside the skew. */
export function expiredError(parameter, record) {
  return new TokenError('expired', parameter,
    `record expires at ${new Date(record.expiresAt).toISOString()}, within the skew: the rotator has not ` +
    "replaced it; check the rotator's errors and alarms");
}

/** The kind of an SSM read failure: "not_found" for ParameterNotFound. */
export function readErrorKind(err) {
  return err?.name === 'ParameterNotFound' || err?.cause?.name === 'ParameterNotFound' ? 'not_found' : 'read_failed';
}
