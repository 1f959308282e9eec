"""Fuzz inputs for links: odd claim values and broken, forged or oddly signed variants of valid tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
import warnings
from typing import Any

import jwt

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**31,
    2**63,
    10**30,
    1.5,
    float("1e308"),
    "",
    " ",
    "0",
    "-1",
    "1e5",
    "NaN",
    "x" * 5000,
    "\x00",
    "é",
    "😀",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "\u202e",
    "\ud7ff",
    [],
    [1],
    {},
    {"a": 1},
    "a,b",
    "  42  ",
    "٤٢",
]
_CLAIMS = ["v", "sk", "skb", "sid", "em", "j", "l", "b", "m", "loc", "exp", "iat", "nbf", "zz"]


def odd_claims(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with a few claims replaced by odd values, removed, or added."""
    claims = dict(base)
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(_CLAIMS)
        action = rng.random()
        if action < 0.2:
            claims.pop(name, None)
        elif name == "skb" and action < 0.5:
            raw = rng.choice([b"\xff\xfe", b"key\"with'quotes", b"", "ключ".encode()])
            claims[name] = rng.choice([base64.b64encode(raw).decode(), "%%%", "a"])
        elif name == "exp" and action < 0.6:
            claims[name] = rng.choice([0, int(time.time()) - 10, int(time.time()) + 3600, "soon", 1e20])
        else:
            claims[name] = rng.choice(ODD_VALUES)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_NONE_HEADER = _b64(b'{"alg":"none","typ":"JWT"}')
_HS256_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')


def mutate_token(rng: random.Random, token: str, key: str) -> str:
    """A broken, forged or oddly-signed variant of a valid token."""
    header, payload, signature = token.split(".")
    choice = rng.randrange(12)
    if choice == 0:
        position = rng.randrange(len(token))
        return token[:position] + rng.choice("AZaz09-_.=+/ %\x00é") + token[position + 1 :]
    if choice == 1:
        return token[: rng.randrange(len(token))]
    if choice == 2:
        return f"{_NONE_HEADER}.{payload}."
    if choice == 3:
        with warnings.catch_warnings():  # PyJWT warns that the key is short for HS512: that is the point
            warnings.simplefilter("ignore")
            return jwt.encode(jwt.decode(token, key, algorithms=["HS256"]), key, algorithm="HS512")
    if choice == 4:
        return jwt.encode(
            {"v": 1, "sk": "bench-000001"}, "another-key-that-is-long-enough-0123456789", algorithm="HS256"
        )
    if choice == 5:
        return f"{header}.{_b64(rng.randbytes(rng.randrange(64)))}.{signature}"
    if choice == 6:
        return ".".join(rng.sample([header, payload, signature], 3))
    if choice == 7:
        return token * rng.randint(2, 60)
    if choice == 8:
        return f"{_b64(json.dumps(rng.choice(ODD_VALUES)).encode())}.{payload}.{signature}"
    if choice == 9:
        return "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz.-_0123456789") for _ in range(rng.randrange(300))
        )
    if choice == 10:
        # Correctly signed, but the payload is not a JSON object.
        raw = json.dumps(rng.choice(ODD_VALUES)).encode()
        signing_input = f"{_HS256_HEADER}.{_b64(raw)}"
        mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    return token + "." + rng.choice(["", "x", token])
