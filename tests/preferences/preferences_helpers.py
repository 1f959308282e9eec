"""Helpers of the manage page's tests: demo identities, links, the form a page shows, the emulator's state."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from werkzeug.datastructures import MultiDict

from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY

# Demo identities of the emulator (emulator/data/demo.json, docs/emulator.md).
PARENT_MID = "510001000"
CHILD_MID = "510001001"
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}  # demo-001 was sent batch 0
BRAND_NEWSLETTER = {"job_id": "28001", "list_id": "27914", "batch_id": "0", "mid": CHILD_MID}
PRODUCT_NEWS, WEEKLY_OFFERS, DO_NOT_MAIL, EVENTS = "17920", "17930", "17940", "17950"
UNSUBSCRIBED_FROM_ALL = "demo-021"  # Unsubscribed on the parent's All Subscribers


def token(locale: str | None = None, **recipient: Any) -> str:
    return mint(LinkClaims(Recipient(**recipient), locale=locale), TEST_SIGNING_KEY)


def manage_link(locale: str | None = None, **recipient: Any) -> str:
    return "/manage?t=" + token(locale, **recipient)


def landing_link(locale: str | None = None, **recipient: Any) -> str:
    return "/unsubscribe?t=" + token(locale, **recipient)


def boxes(html: str) -> dict[str, bool]:
    """The page's list checkboxes: ListID → ticked."""
    found = {}
    for tag in re.findall(r'<input [^>]*type="checkbox"[^>]*>', html):
        value = re.search(r'value="([^"]*)"', tag).group(1)
        found[value] = " checked " in f" {tag} "
    return found


def shown_state(html: str) -> str:
    return unescape(re.search(r'name="shown" value="([^"]*)"', html).group(1))


def save_form(html: str, ticked: set[str]) -> MultiDict:
    """What a browser sends for the lists form with exactly ``ticked`` boxes ticked."""
    return MultiDict([("shown", shown_state(html)), *(("lists", list_id) for list_id in sorted(ticked))])


def memberships(emulator: Any, subscriber_key: str) -> dict[str, str]:
    """The subscriber's list memberships in the emulator (All Subscribers included): ListID → status."""
    return {
        row["list_id"]: row["status"]
        for row in emulator.state()["memberships"]
        if row["subscriber_key"] == subscriber_key
    }


def retrieve_calls(emulator: Any, object_type: str) -> int:
    """How many Retrieve calls of ``object_type`` the emulator answered since its last reset."""
    return int(emulator.state()["stats"].get("retrieve", {}).get(object_type, 0))
