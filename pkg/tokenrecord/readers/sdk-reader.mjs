// Read oauth-token-rotator tokens from SSM Parameter Store with the AWS SDK
// for JavaScript v3 (@aws-sdk/client-ssm, present in the Lambda Node runtime).
//
//   import { TokenReader } from './sdk-reader.mjs';
//   const reader = new TokenReader();                        // once, outside the handler
//   const token = await reader.token('aviv-caas-agency-42'); // reads /oauth-tokens/aviv-caas-agency-42
//
// What is served (the same rules as the Go package pkg/tokencache):
//  - a cached token while now + skew (60 s) is before its expires_at and for
//    at most maxAge (300 s) after it was read; otherwise the parameter is
//    read again (GetParameter, WithDecryption); concurrent callers share it;
//  - a freshly read record that is unreadable, expired or inside the skew
//    is an error, never a token;
//  - when a read fails (or yields no usable record) while the cached token
//    is still usable by its expiry, the cached token is served; after a
//    failed read the parameter is read again only after minReadInterval (5 s);
//  - errors are TokenError and never contain the token or the record.
// In another account than the rotator's, pass reader-role.mjs' ssmClient()
// as client: it reads through the rotator stack's reader role.
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  DEFAULT_MAX_AGE_MS, DEFAULT_MIN_READ_INTERVAL_MS, DEFAULT_PREFIX, DEFAULT_SKEW_MS, ReadGate, TokenError,
  expiredError, parameterName, parse, readErrorKind, usable,
} from './tokenrecord.mjs';

export class TokenReader {
  #client; #prefix; #skew; #maxAge; #now; #gate;
  #cache = new Map(); // parameter name -> record
  #flights = new Map(); // parameter name -> pending read

  constructor({ client, prefix = DEFAULT_PREFIX, skewMs = DEFAULT_SKEW_MS, maxAgeMs = DEFAULT_MAX_AGE_MS,
    minReadIntervalMs = DEFAULT_MIN_READ_INTERVAL_MS, now = Date.now } = {}) {
    this.#client = client ?? new SSMClient({});
    this.#gate = new ReadGate(minReadIntervalMs);
    this.#prefix = prefix; this.#skew = skewMs; this.#maxAge = maxAgeMs; this.#now = now;
  }

  /** Returns the profile's access token (parameter overrides the record's name). */
  async token(profile, parameter) {
    const name = parameter ?? parameterName(profile, this.#prefix);
    const rec = this.#cache.get(name);
    const now = this.#now();
    if (usable(rec, now, this.#skew) && now - rec.readAt < this.#maxAge) return rec.accessToken;
    let flight = this.#flights.get(name);
    if (!flight) {
      flight = this.#read(name, profile).finally(() => this.#flights.delete(name));
      this.#flights.set(name, flight);
    }
    return flight;
  }

  async #read(name, profile) {
    const old = this.#cache.get(name);
    let err = this.#gate.closed(name, this.#now()); // it failed less than minReadInterval ago: no read
    if (err) {
      if (usable(old, this.#now(), this.#skew)) return old.accessToken;
      throw err;
    }
    try {
      const rec = await this.#get(name, profile);
      if (usable(rec, this.#now(), this.#skew)) {
        this.#gate.succeeded(name);
        this.#cache.set(name, rec);
        return rec.accessToken;
      }
      err = expiredError(name, rec);
    } catch (e) {
      err = e instanceof TokenError ? e : new TokenError('read_failed', name, 'unexpected error');
    }
    this.#gate.failed(name, this.#now(), err);
    if (usable(old, this.#now(), this.#skew)) return old.accessToken; // a failed read keeps a valid token
    throw err;
  }

  async #get(name, profile) {
    let out;
    try {
      out = await this.#client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    } catch (e) {
      const kind = readErrorKind(e);
      throw new TokenError(kind, name, kind === 'not_found'
        ? 'no such parameter: check the profile name and TOKEN_PARAMETER_PREFIX, and that the rotator has run'
        : `ssm GetParameter failed: ${e?.explanation ?? e?.name ?? 'unknown error'}`); // explanation: reader-role.mjs
    }
    return parse(out?.Parameter?.Value, name, this.#now(), profile);
  }
}
