"""The unsubscribe journal (a transactional outbox): record first, then deliver to Marketing Cloud.

``init_app`` names the journal of ``DATABASE_URL`` (no connection yet: the first transaction opens one and
migrates the schema, so the app starts while the database is down), builds the ``Delivery`` that sends
entries, and registers ``flask journal …``. See docs/journal.md.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app

from .delivery import CALLS_PER_ATTEMPT, Delivery, DeliverySettings
from .models import JournalEntry, UnsubscribeRequest
from .store import Journal, JournalError, JournalUnavailableError, open_journal

logger = logging.getLogger(__name__)

__all__ = [
    "Journal",
    "JournalError",
    "JournalUnavailableError",
    "deliver_inline",
    "get_delivery",
    "get_journal",
    "init_app",
    "record_and_deliver",
]


def init_app(app: Flask) -> None:
    """Attach the journal (opened lazily) and its delivery, register the CLI group."""
    from .cli import journal_cli

    journal = open_journal(app.config.get("DATABASE_URL"), app.instance_path)
    settings = DeliverySettings.from_config(app.config)
    if settings.lease_seconds < CALLS_PER_ATTEMPT * 2 * settings.sfmc_timeout_seconds:
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
    """The current app's journal."""
    return current_app.extensions["journal"]


def get_delivery() -> Delivery:
    """The current app's delivery (worker and inline attempts)."""
    return current_app.extensions["journal_delivery"]


def deliver_inline(entry_id: int) -> JournalEntry:
    """One delivery attempt for ``entry_id`` within INLINE_DELIVERY_BUDGET; the entry as it stands after.

    Never raises for Marketing Cloud problems: the entry then stays pending and the worker delivers it.
    """
    return get_delivery().deliver_inline(entry_id)


def record_and_deliver(request: UnsubscribeRequest) -> JournalEntry:
    """Journal ``request`` and try one inline delivery; one commit covers the entry and the attempt's claim.

    Same guarantees as ``get_journal().record(request)`` followed by ``deliver_inline(entry.id)`` (committed
    before any call to Marketing Cloud; never raises for Marketing Cloud problems), one write less.
    """
    return get_delivery().record_and_deliver(request)
