// The oauth-token-rotator token record, for Node readers (no dependencies).
//
// The rotator stores one SSM SecureString per profile, named
// <prefix>/<profile> (prefix /oauth-tokens by default), whose value is
//   {"access_token":"…","token_type":"Bearer","expires_at":"2026-11-23T10:00:00Z",
//    "issued_at":"…","profile":"…"}
// parse() accepts a record only when the Go reader (pkg/tokenrecord.Parse)
// does, and only for the profile asked for (README.md: the rules); it
// ignores unknown fields. usable() says whether a parsed record may be
// served now: only while now + skew is before expires_at. ReadGate keeps a failing parameter from
// being read more than once per 5 s.
//
// Errors are TokenError with .kind one of "not_found", "unreadable",
// "expired", "read_failed". Their message names the parameter and what is
// wrong, never the token or the raw record; they carry no cause that could.

export const DEFAULT_PREFIX = '/oauth-tokens';
export const DEFAULT_SKEW_MS = 60_000; // kept before expires_at
export const DEFAULT_MAX_AGE_MS = 300_000; // a read record is served this long before re-reading
export const DEFAULT_MIN_READ_INTERVAL_MS = 5_000; // between two reads of a parameter after a failed one

export const MAX_DEPTH = 100; // levels of objects and arrays a record may nest (Go's reader refuses more)

const PROFILE = /^[A-Za-z0-9._-]{1,128}$/;
const LEASE_SUFFIX = '.lock'; // the rotator's lease parameters end so; no profile name does

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
  if (typeof profile !== 'string' || !PROFILE.test(profile) || profile.endsWith(LEASE_SUFFIX)) {
    throw new TypeError("profile name must be 1 to 128 letters, digits, '.', '_' or '-', not ending in .lock");
  }
  return (prefix || DEFAULT_PREFIX).replace(/\/+$/, '') + '/' + profile;
}

function unreadable(parameter, what) {
  return new TokenError('unreadable', parameter,
    `record ${what}; force a refresh of this profile (invoke the rotator with {"force": true}), ` +
    "and check that the prefix names this profile's record");
}

// RFC 3339 as the rotator writes it: a date, T, a time, an optional fraction
// of any length, and Z or an offset with a colon. Never Date.parse, which
// reads a time without an offset as local time.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch of an RFC 3339 time, or NaN. */
function epochMs(text) {
  const m = typeof text === 'string' ? RFC3339.exec(text) : null;
  if (!m) return NaN;
  const [y, mo, d, h, mi, s, oh, om] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => Number(m[i] ?? 0));
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s);
  if (y < 1 || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) {
    return NaN;
  }
  return t.getTime() + Number(m[7] ?? 0) * 1000 - (m[8] === '+' ? 1 : -1) * (oh * 60 + om) * 60_000;
}

/** How deeply the JSON text nests its objects and arrays. */
function depth(text) {
  let level = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++; // the escaped character
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++level);
    else if (c === ']' || c === '}') level--;
  }
  return deepest;
}

// check returns { token, expiresAt } of a record Go's tokenrecord.Parse
// accepts for profile (for any profile when undefined), or what is wrong.
function check(value, profile) {
  if (typeof value === 'string' && depth(value) > MAX_DEPTH) return `is nested more than ${MAX_DEPTH} levels deep`;
  let doc;
  try {
    doc = JSON.parse(value);
  } catch {
    return 'is not JSON'; // the SyntaxError, which quotes the value, is dropped
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'is not a JSON object';
  const token = doc.access_token;
  if (typeof token !== 'string' || token === '' || /[ \t\r\n]/.test(token)) {
    return 'has no access_token (missing, empty, not a string, or with white space)';
  }
  if (['token_type', 'fingerprint', 'secret_version', 'profile'].some((k) => doc[k] != null && typeof doc[k] !== 'string')) {
    return 'has a token_type, fingerprint, secret_version or profile that is not a string';
  }
  const expiresAt = epochMs(doc.expires_at);
  const issuedAt = epochMs(doc.issued_at);
  if (Number.isNaN(expiresAt) || Number.isNaN(issuedAt)) {
    return 'has no valid expires_at or issued_at (RFC 3339, with Z or an offset)';
  }
  if (expiresAt <= issuedAt) return 'has an expires_at that is not after its issued_at';
  if (!doc.profile) return 'has no profile';
  if (profile !== undefined && doc.profile !== profile) return `is for another profile, not ${profile}`;
  return { token, expiresAt };
}

/**
 * Parses profile's record value read at readAt (ms); profile undefined:
 * any profile's. Throws TokenError ("unreadable").
 */
export function parse(value, parameter, readAt, profile) {
  const checked = check(value, profile);
  if (typeof checked === 'string') throw unreadable(parameter, checked);
  const { token, expiresAt } = checked;
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
