"""The manage page's parts of one app, built once by ``init_app``: the reader, the units, the lists."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.identity import Recipient

from .reading import PreferenceReader, unit_of
from .units import UnitBehaviors

logger = logging.getLogger(__name__)

EXTENSION_KEY = "preferences"


def offered_ids_by_unit(pairs: tuple[str, ...] | None) -> dict[int, tuple[str, ...]]:
    """``PREFERENCE_LISTS`` (``MID:ListID`` texts, checked by config.py) as each unit's ListIDs in order."""
    chosen: dict[int, list[str]] = {}
    for pair in pairs or ():
        mid, _, list_id = pair.partition(":")
        chosen.setdefault(int(mid), []).append(list_id)
    return {mid: tuple(ids) for mid, ids in chosen.items()}


@dataclass
class PreferenceService:
    """What the views and the landing result page need of the manage page's machinery."""

    reader: PreferenceReader
    units: UnitBehaviors
    lists_of: Callable[[int | None], Sequence[Any] | None]
    list_name_of: Callable[[int | None, str], str | None]
    offered_ids: Callable[[int | None], tuple[str, ...] | None]
    post_read_timeout: float

    def covers_every_brand(self, recipient: Recipient) -> bool | None:
        """What "all email" covers for the link's unit, waiting briefly at most (a POST's result page)."""
        return self.units.covers_every_brand(unit_of(recipient), timeout=self.post_read_timeout)

    def list_name(self, recipient: Recipient, list_id: str | None) -> str | None:
        """The name of one of the link's unit's lists from the directory (a cache), or None."""
        if not list_id:
            return None
        try:
            return self.list_name_of(unit_of(recipient), list_id)
        except Exception:
            # A result page after the journal's commit must always render: a failed name lookup costs
            # the name ("this list"), never the page.
            logger.exception("looking up a list name for a result page failed unexpectedly")
            return None

    def resubscribable(self, recipient: Recipient, list_id: str) -> tuple[bool, str | None]:
        """Whether a "subscribe again" may name ``list_id`` (the email's own list, or a list the manage page
        offers), and its name. Any other list is refused: the page never changes a list it cannot show."""
        mid = unit_of(recipient)
        if recipient.mid and mid is None:
            return False, None  # a MID that is not a number: no list of another unit
        name = self.list_name_of(mid, list_id)
        if list_id == recipient.list_id:
            return True, name
        catalog = {str(item.id): item for item in self.lists_of(mid) or ()}
        chosen = self.offered_ids(mid)
        item = catalog.get(list_id)
        if item is None:
            return False, None
        offered = list_id in chosen if chosen is not None else bool(item.is_public_publication)
        return offered, item.name if offered else None


def offered_ids_for(
    by_unit: Mapping[int, tuple[str, ...]], default_mid: int | None
) -> Callable[[int | None], tuple[str, ...] | None]:
    """The unit's chosen ListIDs (a link without a MID is the tokens' unit), or None for "all public
    publication lists"."""

    def offered(mid: int | None) -> tuple[str, ...] | None:
        return by_unit.get(mid if mid is not None else default_mid or 0)

    return offered


def get_service() -> PreferenceService:
    """The current app's manage-page machinery."""
    return current_app.extensions[EXTENSION_KEY]
