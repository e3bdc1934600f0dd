// Test driver for the Node readers (run by readers_test.go, not shipped).
//
// usage: node drive.mjs sdk|powertools
// Reads one JSON command per line on stdin and answers one JSON line on
// stdout, like drive.py: get, advance, age and version. The token itself is
// never printed: only its hash and length. With TOKEN_READER_ROLE_ARN (and
// TOKEN_REGION, TOKEN_READER_DURATION) set, sdk reads through
// reader-role.mjs' ssmClient.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { inspect } from 'node:util';

const MAX_AGE_S = 300;
let offset = 0;
const now = () => Date.now() + offset;

const kind = process.argv[2];
let get; let clear = () => {};
if (kind === 'sdk') {
  const { TokenReader } = await import('./sdk-reader.mjs');
  let client;
  if (process.env.TOKEN_READER_ROLE_ARN) { // a consumer in another account
    const { ssmClient } = await import('./reader-role.mjs');
    client = ssmClient({ roleArn: process.env.TOKEN_READER_ROLE_ARN, region: process.env.TOKEN_REGION,
      durationSeconds: Number(process.env.TOKEN_READER_DURATION ?? 3600) });
  }
  const reader = new TokenReader({ client, maxAgeMs: MAX_AGE_S * 1000, now });
  get = (p) => reader.token(p);
} else if (kind === 'powertools') {
  const { getToken } = await import('./powertools-reader.mjs');
  const { clearCaches } = await import('@aws-lambda-powertools/parameters');
  get = (p) => getToken(p, { maxAge: MAX_AGE_S, now });
  clear = clearCaches;
} else {
  console.error(`unknown reader ${kind}`);
  process.exit(2);
}
const { TokenError } = await import('./tokenrecord.mjs');

// Everything an error lets a caller reach: message, stack, own properties, causes.
function reachable(e) {
  return [String(e), e?.stack, inspect(e, { depth: 20, showHidden: true }), JSON.stringify(e)].join('\n');
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line);
  let out;
  if (cmd.op === 'get') {
    try {
      const tok = await get(cmd.profile);
      out = { ok: true, sha256: createHash('sha256').update(tok).digest('hex'), len: tok.length, type: typeof tok };
    } catch (e) {
      const badName = e instanceof TypeError && e.message.startsWith('profile name');
      out = { ok: false, kind: e instanceof TokenError ? e.kind : badName ? 'invalid_profile' : `unexpected ${e?.name}`, text: reachable(e) };
    }
  } else if (cmd.op === 'version') {
    out = { ok: true, version: process.version };
  } else if (cmd.op === 'advance') {
    offset += cmd.seconds * 1000;
    out = { ok: true };
  } else if (cmd.op === 'age') {
    offset += (MAX_AGE_S + 1) * 1000;
    clear();
    out = { ok: true };
  } else {
    out = { ok: false, kind: 'bad op' };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
