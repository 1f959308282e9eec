"""What the landing form's pages get from the manage page (contract D): its link, and "subscribe again".

The landing views call these two functions and pass the values into their existing templates; the
templates decide how to show them.
"""

from __future__ import annotations

from app.journal.models import JournalEntry, Scope
from app.links import LinkClaims

from .links import manage_url
from .outcomes import landing_undo
from .reading import unit_of
from .service import get_service


def form_values(token: str, claims: LinkClaims) -> dict[str, object]:
    """The landing form's ``manage_url`` (a page-cache hole): the manage page, or None."""
    return {"manage_url": manage_url(token, claims.recipient)}


def form_shape_values(claims: LinkClaims) -> dict[str, object]:
    """The landing form's ``all_covers_every_brand``: the same for everybody of the link's unit (so part of
    the page cache's shape, not a hole), and known without a call to Marketing Cloud — from what this
    process has read for a manage or result page, or from ``SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR``; else None."""
    return {"all_covers_every_brand": get_service().units.known(unit_of(claims.recipient))}


def result_values(token: str, entry: JournalEntry) -> dict[str, object]:
    """The landing result page's ``undo``, ``manage_url`` and ``all_covers_every_brand``."""
    recipient = entry.request.recipient
    service = get_service()
    link = manage_url(token, recipient)
    values: dict[str, object] = {"manage_url": link, "undo": None, "all_covers_every_brand": None}
    if entry.request.scope is Scope.ALL:
        values["all_covers_every_brand"] = service.covers_every_brand(recipient)
    elif link is not None:
        values["undo"] = landing_undo(entry, link, service.list_name(recipient, recipient.list_id))
    return values
