"""The unsubscribe journal (a transactional outbox): record first, then deliver to Marketing Cloud.

``init_app`` names the journal of ``DATABASE_URL`` (no connection yet: the first transaction opens one and
migrates the schema, so the app starts while the database is down), builds the ``Delivery`` that sends
entries, and registers ``flask journal …``. A POST's view calls ``record_and_deliver``. See docs/journal.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app

from app.sfmc.transport import DEADLINE_FACTOR

from .delivery import Delivery
from .delivery_values import CALLS_PER_ATTEMPT, DeliverySettings
from .models import JournalEntry, UnsubscribeRequest
from .store import Journal, open_journal
from .values import JournalError, JournalUnavailableError

logger = logging.getLogger(__name__)

__all__ = [
    "Journal",
    "JournalError",
    "JournalUnavailableError",
    "get_delivery",
    "get_journal",
    "init_app",
    "record_and_deliver",
    "record_and_deliver_many",
]


def init_app(app: Flask) -> None:
    """Attach the journal (opened lazily) and its delivery, register the CLI group."""
    from .cli import journal_cli

    journal = open_journal(app.config.get("DATABASE_URL"), app.instance_path)
    settings = DeliverySettings.from_config(app.config)
    if settings.lease_seconds < CALLS_PER_ATTEMPT * DEADLINE_FACTOR * settings.sfmc_timeout_seconds:
        # A claim that ends while its call is still running lets a second worker send the same batch.
        logger.warning(
            "DELIVERY_LEASE_SECONDS is shorter than 8 x SFMC_TIMEOUT: slow calls may be sent twice",
            extra={"lease_seconds": settings.lease_seconds, "sfmc_timeout": settings.sfmc_timeout_seconds},
        )
    app.extensions["journal"] = journal
    app.extensions["journal_delivery"] = Delivery(journal, lambda: _sfmc_client(app), settings)
    app.cli.add_command(journal_cli)


def _sfmc_client(app: Flask) -> Any:
    """The app's Marketing Cloud client (one token cache per process), made on first use."""
    from app.sfmc import get_client

    return get_client(app)


def get_journal() -> Journal:
    """The current app's journal (one per process, shared by its threads), for reads and the CLI."""
    return current_app.extensions["journal"]


def get_delivery() -> Delivery:
    """The current app's delivery (worker and inline attempts: one client, one inline pool per process)."""
    return current_app.extensions["journal_delivery"]


def record_and_deliver(request: UnsubscribeRequest) -> JournalEntry:
    """Journal ``request`` and try to deliver it within ``INLINE_DELIVERY_BUDGET``: what a POST does.

    One commit holds the entry and the inline attempt's claim, before any call to Marketing Cloud, so the
    request cannot be lost once this gets past it; a journal that cannot be written raises
    ``JournalUnavailableError`` first (the page: 503 "try again"). After the commit nothing raises: an
    attempt that fails or runs out of time leaves the entry pending for the worker. A double submit whose
    pending twin another attempt holds right now gets that twin, without a second attempt.
    """
    delivery = get_delivery()
    entry, claim = delivery.journal.record_claimed(
        request, owner=delivery.inline_owner, lease_seconds=delivery.settings.inline_lease_seconds
    )
    if claim is None:
        return entry
    return delivery.attempt_within_budget(claim, recorded=entry)


def record_and_deliver_many(requests: Sequence[UnsubscribeRequest]) -> list[JournalEntry]:
    """``record_and_deliver`` for several requests of one POST (a save of the manage page: one change per
    list): all of them are written in one commit before anything is sent, then delivered inline within the
    one ``INLINE_DELIVERY_BUDGET`` (unsubscribes by one Execute call, list changes by one Update call, a
    person's changes in the order given). What is not finished within the budget stays pending for the
    worker. Returns one entry per request, in order; ``JournalUnavailableError`` before the commit, as
    ``record_and_deliver``. No requests (a save that changed nothing): nothing written, ``[]``."""
    if not requests:
        return []
    delivery = get_delivery()
    entries, claim = delivery.journal.record_claimed_many(
        list(requests), owner=delivery.inline_owner, lease_seconds=delivery.settings.inline_lease_seconds
    )
    if claim is None:
        return entries
    return delivery.attempt_many_within_budget(claim, recorded=entries)
