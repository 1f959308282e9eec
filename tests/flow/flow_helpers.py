"""Helpers of the flow tests: the emulator's demo identities, minted links, the journal's contents."""

from __future__ import annotations

import re
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


#: The emulator's demo lists a landing page may name (emulator/data/demo.json), and their IDs.
DEMO_LIST_NAMES = ("Newsletter", "Product news", "Weekly offers", "Brand newsletter", "Brand events")
DEMO_LIST_IDS = ("17914", "17920", "17930", "27914", "27920")


def main_of(html: str) -> str:
    """The page's ``<main>``: what it says, without the title and footer (which hold the brand's name)."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def names_the_list(html: str, name: str) -> bool:
    """True when the page prints ``name`` as a name, in the quotes of its language (“…”, „…“, « … »)."""
    return bool(re.search(rf"[“„«][\u00a0\u202f]?{re.escape(name)}[\u00a0\u202f]?[”“»]", main_of(html)))


def names_no_list(html: str) -> bool:
    """True when the page offers "this list" without naming one or showing a bare list ID."""
    main = main_of(html)
    return (
        'value="list"' in main
        and not any(names_the_list(html, name) for name in DEMO_LIST_NAMES)
        and not any(list_id in main for list_id in DEMO_LIST_IDS)
    )
