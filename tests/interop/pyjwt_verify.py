#!/usr/bin/python3
"""Verify tokengate's tokens with PyJWT's PyJWKClient, a client nobody on this project wrote.

Reads one JSON object on stdin:
  {"discovery": URL, "issuer": ISS, "audience": AUD, "pin": BOOL,
   "tokens": [{"name": N, "token": T}, ...]}
and writes one JSON line per token: {"name": N, "ok": true, "sub": SUB, "alg": ALG} or
{"name": N, "ok": false, "error": EXCEPTION-CLASS}.

It does what a careful PyJWT user does: find jwks_uri through the discovery document, pick the key
by the token's kid with PyJWKClient, and pin the algorithms to those the discovery document
publishes, the issuer, the audience and the required claims. With "pin": false it takes the
algorithm from the token's own header instead (a careless user), to show that PyJWT's key handling
alone still refuses an HS256 token keyed with a published public key. Debian package: python3-jwt.
"""
import json
import sys
import urllib.request

import jwt
from jwt import PyJWKClient


def main():
    req = json.load(sys.stdin)
    with urllib.request.urlopen(req["discovery"], timeout=10) as resp:
        doc = json.load(resp)
    if doc.get("issuer") != req["issuer"]:
        sys.exit(f"discovery document names issuer {doc.get('issuer')!r}, want {req['issuer']!r}")
    algorithms = [a for a in doc["id_token_signing_alg_values_supported"] if not a.startswith("HS")]
    client = PyJWKClient(doc["jwks_uri"])
    for item in req["tokens"]:
        out = {"name": item["name"]}
        try:
            key = client.get_signing_key_from_jwt(item["token"])
            alg = jwt.get_unverified_header(item["token"]).get("alg")
            claims = jwt.decode(
                item["token"],
                key.key,
                algorithms=algorithms if req.get("pin", True) else [alg],
                issuer=req["issuer"],
                audience=req["audience"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            out.update(ok=True, sub=claims["sub"], alg=alg)
        except Exception as e:  # every refusal is reported, by its class
            out.update(ok=False, error=type(e).__name__)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
