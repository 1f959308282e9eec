"""The "manage your subscriptions" page: the person's lists from Marketing Cloud, saved to the journal.

One job per module: ``reading`` (what the page shows, within the read budgets of ``budget``), ``units``
(what "all email" covers), ``directory`` (each unit's list names, a cache), ``forms`` and ``shown`` (the
form and the signed state it carries), ``changes`` and ``journaling`` (what is saved and how it is
journaled), ``outcomes`` (what the result pages say), ``views`` and ``links`` (the blueprint and its URLs),
``landing`` (what the landing form's result page gets from here). docs/pages.md, "Manage page".
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from .budget import ReadBudget
from .reading import PreferenceReader
from .service import EXTENSION_KEY, PreferenceService, offered_ids_by_unit, offered_ids_for
from .units import UnitBehaviors, configured_behaviors

#: The longest a POST's result page waits to learn what "all email" covers (a cached answer: no wait).
POST_READ_TIMEOUT = 0.5


def init_app(app: Flask) -> None:
    """Build the manage page's reader (its read budget is per process) and register its blueprint."""
    from .views import bp

    def client() -> Any:
        from app.sfmc import get_client

        return get_client(app)

    def lists_of(mid: int | None) -> Any:
        from . import directory

        return directory.lists(mid)

    def list_name_of(mid: int | None, list_id: str) -> str | None:
        from . import directory

        return directory.list_name(mid, list_id)

    config = app.config
    default_mid = config.get("SFMC_ACCOUNT_ID")
    units = UnitBehaviors(
        client,
        configured_behaviors(config.get("SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR")),
        default_mid=default_mid,
        keep_seconds=config["BUSINESS_UNIT_CACHE_SECONDS"],
    )
    offered_ids = offered_ids_for(offered_ids_by_unit(config.get("PREFERENCE_LISTS")), default_mid)
    reader = PreferenceReader(
        client,
        lists_of,
        offered_ids,
        units,
        ReadBudget(config["MANAGE_READ_RATE"], config["MANAGE_READ_BURST"]),
        config["MANAGE_READ_TIMEOUT"],
    )
    app.extensions[EXTENSION_KEY] = PreferenceService(
        reader=reader,
        units=units,
        lists_of=lists_of,
        list_name_of=list_name_of,
        offered_ids=offered_ids,
        post_read_timeout=min(POST_READ_TIMEOUT, config["MANAGE_READ_TIMEOUT"]),
    )
    app.register_blueprint(bp)
