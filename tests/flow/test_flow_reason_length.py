"""The Reason sent to Marketing Cloud fits its ``UnsubReason`` Text(100); the person's words stay whole here.

Marketing Cloud keeps at most 100 characters, counted as SQL Server's nvarchar counts them (UTF-16 code
units: an emoji outside the BMP counts 2). We cut between grapheme clusters (a ZWJ family emoji is whole
or absent, never half), drop bidi and other format controls, and keep the full text in the journal.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import regex
from flask.testing import FlaskClient
from flow_helpers import NEWSLETTER, link

from testkit.cli import flask_cli
from tests.conftest import base_test_config

PREFIX = "Profile Center: Other: "
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 code points, 11 UTF-16 units
BIDI = "\u202e\u2066\u200f\u061c\u202a"  # RLO, LRI, RLM, ALM, LRE


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def long_reason() -> str:
    """Bidi controls, an astral emoji (2 units), and the family emoji right across the 100-unit cut."""
    head = f"{BIDI[:2]}Mails \U0001f600 every day{BIDI[2:]} "
    filler = "x" * (95 - utf16_units(PREFIX) - utf16_units(head))
    return f"{head}{filler}{FAMILY} and more after the cut, {'y' * 80}"


def export_rows(emulator: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """`flask --app wsgi journal export --format jsonl` as a real process, on the test app's journal."""
    config = base_test_config(emulator, tmp_path)
    config.pop("TESTING")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SFMC_", "DATABASE_"))}
    env.update({key: str(value) for key, value in config.items()})
    done = flask_cli(env, "journal", "export", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_long_reason_is_cut_to_100_on_a_cluster_boundary_and_kept_whole_in_the_journal(
    client: FlaskClient, emulator: Any, tmp_path: Path
) -> None:
    text = long_reason()
    assert len(text) <= 500  # what the form accepts
    response = client.post(
        link(subscriber_key="demo-003", **NEWSLETTER),
        data={"scope": "list", "reason": "other", "other_text": text},
    )
    assert "You are unsubscribed" in response.get_data(as_text=True)

    [event] = emulator.events()
    sent = event["reason"]
    assert utf16_units(sent) <= 100 and len(sent) <= 100, (utf16_units(sent), sent)
    assert utf16_units(sent) >= 90  # cut near the limit, not emptied
    assert sent.startswith(f"{PREFIX}Mails \U0001f600 every day ") and sent.endswith("…")
    assert not [c for c in sent if unicodedata.category(c) == "Cf" and c != "\u200d"], ascii(sent)
    # Every cluster sent is one the person wrote: the family is whole or absent, never cut inside.
    written = set(regex.findall(r"\X", PREFIX + "".join(c for c in text if c not in BIDI)))
    assert set(regex.findall(r"\X", sent[:-1])) <= written, ascii(sent)
    assert "\U0001f468" not in sent or FAMILY in sent

    [row] = export_rows(emulator, tmp_path)
    assert row["reason_text"] == text  # bidi controls, the family and the tail: all of it
