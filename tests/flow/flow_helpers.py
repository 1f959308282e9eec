"""Helpers of the flow tests: the emulator's demo identities, minted links, the journal's contents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY

# Demo identities of the emulator (emulator/data/demo.json, docs/emulator.md).
PARENT_MID = "510001000"
CHILD_MID = "510001001"
ALL_SUBSCRIBERS = "1000"
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}  # odd demo-0NN were sent batch 0
NEWSLETTER_BATCH_1 = {"job_id": "18099", "list_id": "17914", "batch_id": "1"}  # even ones batch 1
BRAND_NEWSLETTER = {"job_id": "28001", "list_id": "27914", "batch_id": "0", "mid": CHILD_MID}
ALREADY_OFF_NEWSLETTER = "demo-022"  # unsubscribed from the newsletter already, sent batch 1 (401)
NOT_ON_NEWSLETTER_JOB = "demo-024"  # exists, but job 18099 was never sent to them (400)


def link(locale: str | None = None, expires_at: int | None = None, **recipient: Any) -> str:
    """The path and query of a link for ``recipient`` (Recipient fields), signed with the test key."""
    claims = LinkClaims(Recipient(**recipient), locale=locale, expires_at=expires_at)
    return "/unsubscribe?t=" + mint(claims, TEST_SIGNING_KEY)


def journal_entries(app: Flask) -> list[Any]:
    return app.extensions["journal"].entries()


def template_dir(tmp_path: Path, files: dict[str, str], name: str = "templates") -> Path:
    """A marketer's ``TEMPLATE_DIR`` under ``tmp_path`` holding ``files`` (file name -> template text)."""
    folder = tmp_path / name
    folder.mkdir()
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder


def soap_calls_of(state: dict[str, Any]) -> dict[str, int]:
    """The SOAP calls the emulator answered, by kind ("Execute", "Update", "Retrieve List",
    "Retrieve ListSubscriber", …), from ``/_emulator/state``'s counters; kinds never called are left out."""
    stats = state["stats"]
    calls = {f"Retrieve {kind}": count for kind, count in stats["retrieve"].items()}
    calls.update({"Execute": stats["execute"], "Update": stats["update"]})
    return {kind: count for kind, count in calls.items() if count}
