// Verify tokengate's tokens with Node's jose (createRemoteJWKSet), a client nobody on this project
// wrote.
//
// Reads one JSON object on stdin:
//   {"discovery": URL, "issuer": ISS, "audience": AUD, "pin": BOOL,
//    "tokens": [{"name": N, "token": T}, ...]}
// and writes one JSON line per token: {"name": N, "ok": true, "sub": SUB, "alg": ALG} or
// {"name": N, "ok": false, "error": CODE}.
//
// It does what a careful jose user does: find jwks_uri through the discovery document, let
// createRemoteJWKSet pick the key by kid and alg, and pin the algorithms to those the discovery
// document publishes, the issuer, the audience and the required claims. With "pin": false it passes
// no algorithms (a careless user), to show that jose's key selection alone still refuses an HS256
// token keyed with a published public key.
import { createRemoteJWKSet, jwtVerify } from 'jose';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const req = JSON.parse(await readStdin());
const resp = await fetch(req.discovery);
if (!resp.ok) throw new Error(`discovery document: status ${resp.status}`);
const doc = await resp.json();
if (doc.issuer !== req.issuer) {
  throw new Error(`discovery document names issuer ${JSON.stringify(doc.issuer)}, want ${JSON.stringify(req.issuer)}`);
}
const algorithms = doc.id_token_signing_alg_values_supported.filter((a) => !a.startsWith('HS'));
const jwks = createRemoteJWKSet(new URL(doc.jwks_uri));
for (const item of req.tokens) {
  const out = { name: item.name };
  try {
    const { payload, protectedHeader } = await jwtVerify(item.token, jwks, {
      issuer: req.issuer,
      audience: req.audience,
      ...(req.pin === false ? {} : { algorithms }),
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    Object.assign(out, { ok: true, sub: payload.sub, alg: protectedHeader.alg });
  } catch (e) {
    Object.assign(out, { ok: false, error: e.code ?? e.name });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
