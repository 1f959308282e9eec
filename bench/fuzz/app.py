"""Fuzz target 3: the app (Flask test client, a real emulator over loopback, a real SQLite journal).

Random and mutated link tokens (``links``), random form fields, methods, bodies and headers. Any 5xx or
exception counts as a server error, and so does an ERROR record from an ``app.*`` logger (an exception
delivery swallowed); a GET, HEAD or OPTIONS must never log an UnsubEvent nor add or change a journal row.
"""

from __future__ import annotations

import contextlib
import logging
import random
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt

from bench import _common as common
from bench.fuzz.links import ODD_VALUES, mutate_token, odd_claims
from bench.fuzz.manage import random_manage_request
from bench.fuzz.tally import Tally

_HEADERS: dict[str, list[str]] = {
    "Accept-Language": [
        "",
        "*",
        "de-DE,de;q=0.9",
        "xx-YY",
        "en;q=abc",
        "q=0.5",
        ",,,,",
        "é" * 50,
        "zh-Hant-TW",
        "de;q=1.5, fr;q=-1",
        "a" * 4000,
    ],
    "X-Request-ID": ["", "abc", "x" * 5000, "<script>", "\t", "../../"],
    "X-Forwarded-For": ["", "1.2.3.4", "::1, 999.1.1.1", "garbage", "1.1.1.1, " * 100],
    "X-Forwarded-Proto": ["https", "ftp", ""],
    "X-Forwarded-Host": ["evil.example", "", "a" * 300],
    "X-Forwarded-Prefix": ["/preferences", "//evil", "../"],
    "Cookie": ["session=x", "a=" + "b" * 3000, ";;;"],
    "Content-Type": [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded; charset=utf-16",
        "",
    ],
    "User-Agent": ["", "Mozilla/5.0", "x" * 2000],
    "Authorization": ["Bearer x", "Basic !!!"],
    "Range": ["bytes=0-1", "bytes=-1-"],
    "If-None-Match": ["*", '"x"'],
}
_FORM_NAMES = [
    "scope",
    "reason",
    "other_text",
    "without_job",
    "reason_text",
    "other",
    "reason_other",
    "List-Unsubscribe",
    "t",
    "lang",
    "csrf_token",
    "submit",
    "x",
]
_FORM_VALUES = [
    "list",
    "all",
    "LIST",
    "",
    "One-Click",
    "too_many",
    "not_relevant",
    "never_signed_up",
    "other",
    "no_longer_interested",
    "x" * 501,
    "x" * 20_000,
    "\x00",
    "é😀",
    "<b>",
    "\r\n",
    "list\x00",
]

#: ``?mid=`` values for /brand.css (a business unit's colour): digits of every script and length.
_MIDS = ["510001000", "0", "-1", " 1 ", "²", "١٢٣", "９", "9" * 18, "9" * 5000, "1e3", "\x00", "<b>"]


def random_request(rng: random.Random, tokens: list[str], key: str) -> dict[str, Any]:
    """Arguments for the Flask test client's ``open``: method, path, query, body, headers (a quarter of
    them the manage page's, from ``manage``)."""
    if rng.random() < 0.25:
        return random_manage_request(rng, tokens, key)
    token = rng.choice(tokens)
    roll = rng.random()
    if roll < 0.35:
        token = mutate_token(rng, token, key)
    elif roll < 0.6:
        claims = jwt.decode(token, key, algorithms=["HS256"])
        token = jwt.encode(odd_claims(rng, claims), key, algorithm="HS256")
    query: list[tuple[str, str]] = []  # urlencoded below: the test client takes a query string
    if rng.random() > 0.05:
        query.append(("t", token))
    if rng.random() < 0.2:
        query.append((rng.choice(["t", "lang", "x"]), rng.choice(_FORM_VALUES[:12])))
    if rng.random() < 0.1:
        query.append(("mid", rng.choice(_MIDS)))
    method = rng.choices(
        ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"], [30, 50, 5, 5, 4, 3, 3]
    )[0]
    path = rng.choices(
        [
            "/unsubscribe",
            "/unsubscribe/",
            "/UNSUBSCRIBE",
            "/unsubscribe/x",
            "/",
            "/static/../config.py",
            "/healthz",
            "/brand.css",
            "/favicon.ico",
        ],
        [80, 4, 2, 2, 4, 4, 4, 4, 2],
    )[0]
    headers = {name: rng.choice(values) for name, values in _HEADERS.items() if rng.random() < 0.15}
    arguments: dict[str, Any] = {
        "method": method,
        "path": path,
        "query_string": urlencode(query, encoding="utf-8", errors="surrogatepass"),
        "headers": headers,
    }
    if method in ("POST", "PUT", "PATCH"):
        body_roll = rng.random()
        if body_roll < 0.7:
            fields = [(rng.choice(_FORM_NAMES), rng.choice(_FORM_VALUES)) for _ in range(rng.randint(0, 5))]
            if rng.random() < 0.5:
                fields.append(("scope", rng.choice(["list", "all"])))
            if headers.get("Content-Type", "").startswith("multipart") and rng.random() < 0.5:
                arguments["data"] = dict(fields)
                headers.pop("Content-Type")
            else:
                arguments["data"] = "&".join(f"{name}={value}" for name, value in fields).encode(
                    "utf-8", "surrogatepass"
                )
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body_roll < 0.8:
            arguments["data"] = b"List-Unsubscribe=One-Click"
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body_roll < 0.9:
            arguments["data"] = rng.randbytes(rng.choice([0, 10, 1000, 20_000, 70_000]))
        else:
            arguments["json"] = {"scope": rng.choice(ODD_VALUES[:10])}
    return arguments


class AppUnderTest:
    """The app with a real emulator and a SQLite journal, and valid tokens for the emulator's data."""

    def __init__(self, app: Any, emulator: common.Emulator, tokens: list[str], key: str) -> None:
        self.app = app
        self.emulator = emulator
        self.tokens = tokens
        self.key = key

    def __repr__(self) -> str:  # short: hypothesis prints the fixture with every failing example
        return f"AppUnderTest(emulator={self.emulator.base_url}, {len(self.tokens)} tokens)"


@contextlib.contextmanager
def app_under_test(
    subscriptions: int = 300, settings: dict[str, str] | None = None
) -> Iterator[AppUnderTest]:
    """Start an emulator with ``subscriptions`` distinct people and build the app against it (its manage
    page's read budget out of reach, so that the fuzzed GETs really read; ``settings`` override)."""
    from app import create_app
    from config import SETTINGS

    with tempfile.TemporaryDirectory(prefix="fuzz-app-") as tmp:
        tmp_path = Path(tmp)
        people = common.generate_subscriptions(subscriptions)
        data_file = common.write_emulator_data(tmp_path / "emulator-data.json", people)
        emulator = common.start_emulator(tmp_path / "emulator.log", data_file)
        try:
            config = {
                key: value
                for key, value in common.app_env(
                    emulator, f"sqlite:///{tmp_path / 'journal.sqlite3'}"
                ).items()
                if key in {setting.name for setting in SETTINGS}
            }
            config.update({"PROPAGATE_EXCEPTIONS": True, "SFMC_TIMEOUT": "2", "LOG_LEVEL": "ERROR"})
            config.update({"MANAGE_READ_RATE": "100000", "MANAGE_READ_BURST": "100000", **(settings or {})})
            app = create_app(config)
            yield AppUnderTest(app, emulator, [common.mint_token(p) for p in people], common.SIGNING_KEY)
        finally:
            emulator.stop()


def check_request(client: Any, arguments: dict[str, Any], tally: Tally) -> None:
    """One request: any 5xx or exception is a server error."""
    tally.cases += 1
    try:
        response = client.open(**arguments)
    except Exception as exc:
        tally.crash(f"{type(exc).__name__}: {exc} for {_describe(arguments)}")
        return
    tally.outcomes[response.status_code] += 1
    if response.status_code >= 500:
        tally.crash(f"HTTP {response.status_code} for {_describe(arguments)}")


def _describe(arguments: dict[str, Any]) -> str:
    shown = dict(arguments)
    if isinstance(shown.get("data"), bytes | str) and len(shown["data"]) > 200:
        shown["data"] = f"<{len(shown['data'])} bytes>"
    return repr(shown)[:400]


class ErrorLogCounter(logging.Handler):
    """Counts ERROR records the app (``app.*`` loggers) logs: an exception that delivery or a view swallows
    and logs is a failure even when the page answered 4xx or 200."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "app" or record.name.startswith("app."):
            exc = f" ({record.exc_info[0].__name__})" if record.exc_info and record.exc_info[0] else ""
            self.messages[f"{record.name}: {record.getMessage()[:80]}{exc}"] += 1


def journal_rows(target: AppUnderTest) -> dict[int, Any]:
    """Every journal entry now, by id: a GET, HEAD or OPTIONS must leave these exactly as they were."""
    return {entry.id: entry for entry in target.app.extensions["journal"].iter_entries()}


def changed_rows(before: dict[int, Any], after: dict[int, Any]) -> int:
    """Journal rows added, changed or removed between two ``journal_rows`` snapshots."""
    return sum(1 for entry_id in before.keys() | after.keys() if before.get(entry_id) != after.get(entry_id))


@dataclass
class SafeMethodEffects:
    """What the GET, HEAD and OPTIONS requests changed: UnsubEvents logged, journal rows added or changed."""

    events: int = 0
    journal_rows: int = 0


def fuzz_app(cases: int, rng: random.Random) -> tuple[Tally, SafeMethodEffects]:
    """``cases`` random requests; the tally, and what the safe methods changed (nothing, or a failure)."""
    tally = Tally()
    effects = SafeMethodEffects()
    errors = ErrorLogCounter()
    logging.getLogger().addHandler(errors)
    with app_under_test() as target:
        client = target.app.test_client()
        # Safe methods first: however odd, none of them may unsubscribe anyone or journal anything.
        safe = [
            a
            for a in (random_request(rng, target.tokens, target.key) for _ in range(cases * 3))
            if a["method"] in ("GET", "HEAD", "OPTIONS")
        ][: cases // 3]
        rows_before = journal_rows(target)
        for arguments in safe:
            check_request(client, arguments, tally)
        effects.events = len(target.emulator.state()["events"])
        effects.journal_rows = changed_rows(rows_before, journal_rows(target))
        for _ in range(cases - len(safe)):
            check_request(client, random_request(rng, target.tokens, target.key), tally)
    logging.getLogger().removeHandler(errors)
    tally.logged_errors = errors.messages
    return tally, effects
