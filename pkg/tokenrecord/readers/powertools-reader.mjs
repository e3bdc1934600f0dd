// The smallest correct recipe for Powertools for AWS Lambda (TypeScript)
// parameters (@aws-lambda-powertools/parameters with @aws-sdk/client-ssm).
// Plain JavaScript, so it runs as it is; in TypeScript add the types.
//
//   import { getToken } from './powertools-reader.mjs';
//   const token = await getToken('aviv-caas-agency-42');
//
// Powertools caches the raw value for maxAge and knows nothing of
// expires_at: alone it serves a token inside the 60 s skew, or one that has
// expired, from its cache. So on every call this recipe parses the cached
// value, checks access_token and expires_at - skew, and passes
// forceFetch: true when the cached record is not usable. Powertools does not
// serve a stale value when a read fails, so the last usable record is kept
// here and served while it is still valid; a failing parameter is read at
// most once per 5 s. Do not use transform: 'json': its
// error puts the first 10 characters of a non-JSON value (the token) into
// the message. Errors are TokenError and never contain the token or the record.
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import {
  DEFAULT_PREFIX, DEFAULT_SKEW_MS, ReadGate, TokenError, expiredError, parameterName, parse, readErrorKind, usable,
} from './tokenrecord.mjs';

const last = new Map(); // parameter name -> last usable record
const gate = new ReadGate(); // a failing parameter is read at most once per 5 s

export async function getToken(profile, { prefix = DEFAULT_PREFIX, maxAge = 300, skewMs = DEFAULT_SKEW_MS,
  now = Date.now } = {}) {
  const name = parameterName(profile, prefix);
  let err = gate.closed(name, now());
  if (err) {
    if (usable(last.get(name), now(), skewMs)) return last.get(name).accessToken;
    throw err;
  }
  try {
    // Nothing usable yet: Powertools' cache can hold only a value already
    // rejected, so the first read is a fresh one.
    const force = !last.has(name);
    let rec = await read(name, profile, maxAge, force, now); // null when Powertools' cache holds a bad value
    if (!usable(rec, now(), skewMs) && !force) {
      rec = await read(name, profile, maxAge, true, now); // the cached record is unusable: a fresh read
    }
    if (!usable(rec, now(), skewMs)) throw expiredError(name, rec);
    gate.succeeded(name);
    last.set(name, rec);
    return rec.accessToken;
  } catch (e) {
    err = e instanceof TokenError ? e : new TokenError('read_failed', name, 'unexpected error');
  }
  gate.failed(name, now(), err);
  if (usable(last.get(name), now(), skewMs)) return last.get(name).accessToken;
  throw err;
}

async function read(name, profile, maxAge, forceFetch, now) {
  let value;
  try {
    value = await getParameter(name, { decrypt: true, maxAge, forceFetch });
  } catch (e) {
    const kind = readErrorKind(e);
    throw new TokenError(kind, name, kind === 'not_found'
      ? 'no such parameter: check the profile name and prefix'
      : `ssm GetParameter failed: ${e?.cause?.name ?? e?.name ?? 'unknown error'}`);
  }
  try {
    return parse(value, name, now(), profile);
  } catch (e) {
    if (forceFetch) throw e;
    return null; // read it again, bypassing Powertools' cache
  }
}
