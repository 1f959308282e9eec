"""Text a database or XML cannot hold (NUL, lone surrogates, other control characters) is journaled cleaned,
the same way on SQLite and PostgreSQL, from the form, a signed link and a `journal import` file alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask
from journal_helpers import run_cli, worker_env

from tests.conftest import TEST_SIGNING_KEY
from tests.live_http import live_server

HEADER = "subscriber_key,subscriber_id,email,job_id,list_id,batch_id,mid,scope,reason\n"


def _link(subscriber_key: str) -> str:
    """A signed link whose JSON payload is written by PyJWT (``\\u0000`` / ``\\ud800`` escapes kept)."""
    claims = {"v": 1, "sk": subscriber_key, "j": 18099, "l": 17914, "b": 0}
    return "/unsubscribe?t=" + jwt.encode(claims, TEST_SIGNING_KEY, algorithm="HS256")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("nul\x00inside", "nulinside"),
        ("bell\x07, escape\x1b, \ufffe and tab\tstay\nnewline", "bell, escape,  and tab\tstay\nnewline"),
    ],
)
def test_free_text_the_database_cannot_hold_is_journaled_without_it(
    make_app: Any, typed: str, stored: str
) -> None:
    app: Flask = make_app(RATELIMIT_POST="1000 per minute")
    with live_server(app) as server:  # real HTTP: the %00 / raw bytes travel as a browser sends them
        response = requests.post(
            server.base_url + _link("demo-001"),
            data={"scope": "list", "reason": "other", "other_text": typed},
            timeout=10,
        )
    assert response.status_code == 200, response.text[:300]
    [entry] = app.extensions["journal"].entries()
    assert entry.request.reason_text == stored


@pytest.mark.parametrize(("key", "stored"), [("demo\x00-003", "demo-003"), ("demo-\ud8000", "demo-0")])
def test_a_signed_subscriber_key_with_nul_or_a_lone_surrogate_is_journaled(
    make_app: Any, key: str, stored: str
) -> None:
    app: Flask = make_app(RATELIMIT_POST="1000 per minute")
    with live_server(app) as server:
        response = requests.post(server.base_url + _link(key), data={"scope": "list"}, timeout=10)
    assert response.status_code == 200, response.text[:300]
    [entry] = app.extensions["journal"].entries()
    assert entry.request.recipient.subscriber_key == stored


def test_an_import_row_with_nul_is_journaled_without_it(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "nul.csv"
    source.write_text(HEADER + "demo-0\x0004,,,18099,17914,,510001000,list,phoned\x00 in\n", encoding="utf-8")
    env = worker_env(emulator, database_url)
    result = run_cli(env, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "imported 1 row(s)" in result.stdout
    exported = run_cli(env, "export", "--format", "jsonl")
    assert '"subscriber_key": "demo-004"' in exported.stdout
    assert '"reason_text": "phoned in"' in exported.stdout


def test_a_file_that_is_not_utf8_is_refused_in_one_line_and_nothing_is_imported(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "latin1.csv"
    rows = [f"demo-0{n:02d},,,18099,17914,,510001000,list,\n" for n in range(1, 4)]
    rows.insert(2, "demo-099,,,18099,17914,,510001000,list,Zu viele E-Mails für mich\n")
    source.write_bytes((HEADER + "".join(rows)).encode("latin-1"))
    env = worker_env(emulator, database_url)
    result = run_cli(env, "import", str(source))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # One line of its own (JSON log lines, such as the fast test settings' lease warning, aside).
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, lines
    [line] = lines
    assert line.startswith("line 4: ") and "UTF-8" in line
    status = run_cli(env, "status", "--json")
    assert '"pending": 0' in status.stdout, status.stdout + status.stderr
