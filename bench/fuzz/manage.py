"""Fuzz inputs for the manage page (``/manage``) and the "subscribe again" (undo) POSTs.

What a person, a scanner or an attacker can send there: the lists form with odd, repeated, huge or
foreign ``lists`` values, and a ``shown`` state that is missing, tampered, signed for another link, signed
with another key or salt, or signed by us around rows of every odd type (which only a key holder could
make, but must still not break the page); ``all`` and ``resubscribe`` fields of every kind, also on the
landing page's URL; and links that are valid, expired, mutated or carry odd claims.
"""

from __future__ import annotations

import random
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from itsdangerous import URLSafeSerializer

from bench.fuzz.links import mutate_token, odd_claims

#: ListIDs a form may name: the fuzz data's own list, others not offered, and no numbers at all.
LIST_IDS = [
    "8000001",
    "8000002",
    "17914",
    "0",
    "-1",
    "01",
    "1e3",
    " 8000001",
    "８０００００１",
    "9" * 18,
    "9" * 19,
    "1" * 20_000,
    "",
    "abc",
    "\x00",
    "8000001\x00",
    "\ud800",
    "é😀",
    "<b>x</b>",
    "NaN",
]
_SIGNABLE_IDS = [value for value in LIST_IDS if value != "\ud800"]  # JSON in UTF-8: no lone surrogates
_FIELD_NAMES = ["lists", "shown", "all", "resubscribe", "scope", "x"]
_ODD_ROWS: list[Any] = [
    None,
    5,
    "l",
    {},
    [None],
    [[]],
    [["8000001", 1, "n"]],
    [["8000001", 1, "n", 1, 9]],
    [[None, None, None, None]],
    [[["x"], {"a": 1}, 1.5, "z"]],
    [["8000001", "yes", 7, -1]] * 60,
]
SHOWN_SALT = "profile-center.manage-page.shown-state"  # app/preferences/shown.py's SALT


def _link_digest(token: str) -> str:
    from app.preferences.shown import _link_digest as digest

    return digest(token)


def shown_state(rng: random.Random, token: str, other_token: str, key: str) -> str:
    """A ``shown`` field: garbage, tampered, foreign, wrongly keyed or salted, or ours around odd rows."""
    ours = URLSafeSerializer([key], salt=SHOWN_SALT)
    rows = [
        [
            rng.choice(_SIGNABLE_IDS),
            rng.choice([0, 1]),
            rng.choice(["News", "", "<b>", "x" * 5000]),
            rng.randint(0, 1),
        ]
        for _ in range(rng.randint(0, 4))
    ]
    good = ours.dumps({"t": _link_digest(token), "l": rows})
    kind = rng.randrange(9)
    if kind == 0:
        return ""
    if kind == 1:
        return rng.choice(["x", ".", "a.b", "\x00", "\ud800", "x" * 100_000, good.split(".")[0]])
    if kind == 2:  # one character changed
        spot = rng.randrange(len(good))
        return good[:spot] + rng.choice("AZaz09-_.\x00") + good[spot + 1 :]
    if kind == 3:  # shown for another link
        return ours.dumps({"t": _link_digest(other_token), "l": rows})
    if kind == 4:
        return URLSafeSerializer(["another key"], salt=SHOWN_SALT).dumps(
            {"t": _link_digest(token), "l": rows}
        )
    if kind == 5:
        return URLSafeSerializer([key], salt="another use").dumps({"t": _link_digest(token), "l": rows})
    if kind == 6:  # ours, around rows of odd types
        return ours.dumps({"t": _link_digest(token), "l": rng.choice(_ODD_ROWS)})
    if kind == 7:
        return ours.dumps(rng.choice([None, 1, "t", [], {"l": []}, {"t": None, "l": rows}]))
    return good


def _token(rng: random.Random, tokens: list[str], key: str) -> str:
    token = rng.choice(tokens)
    roll = rng.random()
    if roll < 0.1:  # expired
        claims = jwt.decode(token, key, algorithms=["HS256"])
        return jwt.encode({**claims, "exp": int(time.time()) - rng.randint(1, 10**6)}, key, algorithm="HS256")
    if roll < 0.25:
        return mutate_token(rng, token, key)
    if roll < 0.35:
        claims = jwt.decode(token, key, algorithms=["HS256"])
        return jwt.encode(odd_claims(rng, claims), key, algorithm="HS256")
    return token


def _fields(rng: random.Random, token: str, other_token: str, key: str) -> list[tuple[str, str]]:
    kind = rng.randrange(4)
    fields: list[tuple[str, str]] = []
    if kind == 0:  # the lists form
        fields.append(("shown", shown_state(rng, token, other_token, key)))
        fields += [("lists", rng.choice(LIST_IDS)) for _ in range(rng.choice([0, 1, 2, 5, 300]))]
    elif kind == 1:  # a "subscribe again" button, the landing page's undo included
        values = [*LIST_IDS, "", "8000001 8000002", "8000001,8000002", "-0", "+1", "1" * 18 + "0"]
        fields += [("resubscribe", rng.choice(values)) for _ in range(rng.choice([1, 1, 2, 50]))]
    elif kind == 2:  # "unsubscribe from all email"
        fields.append(("all", rng.choice(["1", "0", "", "1\x00", "true", "\ud800", "1" * 5000])))
    else:  # any mix
        for _ in range(rng.randint(0, 8)):
            name = rng.choice(_FIELD_NAMES)
            value = shown_state(rng, token, other_token, key) if name == "shown" else rng.choice(LIST_IDS)
            fields.append((name, value))
    rng.shuffle(fields)
    return fields


def random_manage_request(rng: random.Random, tokens: list[str], key: str) -> dict[str, Any]:
    """Arguments for the Flask test client's ``open``: a GET, HEAD, OPTIONS or POST of the manage page,
    or a "subscribe again" POST to the landing page's URL."""
    token = _token(rng, tokens, key)
    method = rng.choices(["GET", "POST", "HEAD", "OPTIONS", "PUT"], [25, 60, 5, 5, 5])[0]
    path = rng.choices(["/manage", "/manage/", "/unsubscribe"], [80, 5, 15])[0]
    query = [("t", token)] if rng.random() > 0.05 else []
    if rng.random() < 0.1:
        query.append(("t", rng.choice(tokens)))  # a second link in the query: the first one counts
    arguments: dict[str, Any] = {
        "method": method,
        "path": path,
        "query_string": urlencode(query, encoding="utf-8", errors="surrogatepass"),
    }
    if method in ("POST", "PUT"):
        fields = _fields(rng, token, rng.choice(tokens), key)
        arguments["data"] = urlencode(fields, encoding="utf-8", errors="surrogatepass").encode("ascii")
        arguments["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    return arguments
