"""Marketing Cloud SOAP client (LogUnsubEvent; Retrieve of lists, memberships, subscribers and business units;
Update of list statuses): see docs/sfmc-client.md and docs/architecture.md.

Knows nothing of Flask except ``init_app`` and ``cli``: the client is built from a settings mapping.
"""

from __future__ import annotations

from typing import Any

from .auth import SfmcObserver
from .client import PingResult, SfmcClient
from .errors import (
    SfmcAuthError,
    SfmcConfigError,
    SfmcError,
    SfmcProtocolError,
    SfmcRequestError,
    SfmcRetrieveError,
    SfmcTransientError,
)
from .models import (
    MAX_REQUESTS_PER_CALL,
    ExecuteResult,
    LogUnsubEvent,
    OutcomeKind,
    SoapFault,
    UnsubOutcome,
)
from .object_calls import MAX_RETRIEVE_PAGES
from .objects import (
    BusinessUnitInfo,
    ListMembership,
    ListStatusChange,
    MailingList,
    RetrievedObject,
    RetrieveQuery,
    RetrieveResult,
    SimpleFilter,
    SubscriberStatus,
    UpdateResult,
)

__all__ = [
    "MAX_REQUESTS_PER_CALL",
    "MAX_RETRIEVE_PAGES",
    "BusinessUnitInfo",
    "ExecuteResult",
    "ListMembership",
    "ListStatusChange",
    "LogUnsubEvent",
    "MailingList",
    "OutcomeKind",
    "PingResult",
    "RetrieveQuery",
    "RetrieveResult",
    "RetrievedObject",
    "SfmcAuthError",
    "SfmcClient",
    "SfmcConfigError",
    "SfmcError",
    "SfmcObserver",
    "SfmcProtocolError",
    "SfmcRequestError",
    "SfmcRetrieveError",
    "SfmcTransientError",
    "SimpleFilter",
    "SoapFault",
    "SubscriberStatus",
    "UnsubOutcome",
    "UpdateResult",
    "get_client",
    "init_app",
]

EXTENSION_KEY = "sfmc_client"


def init_app(app: Any, *, observer: SfmcObserver | None = None) -> None:
    """Create the app's one client (no network until its first call) and register ``flask sfmc``.

    ``observer`` (the metrics, from ``create_app``) is given to the client as it is made: the client knows
    nothing of who watches it, and a process that serves no request (the delivery worker) is observed too.
    """
    from .cli import sfmc_cli

    app.extensions[EXTENSION_KEY] = SfmcClient.from_config(app.config, observer=observer)
    app.cli.add_command(sfmc_cli)


def get_client(app: Any = None) -> SfmcClient:
    """The client of ``app`` (default: the current Flask app), so that every caller shares one token.

    Made on first use (without an observer) in an app whose ``init_app`` was not called.
    """
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    client = app.extensions.get(EXTENSION_KEY)
    if client is None:
        client = app.extensions.setdefault(EXTENSION_KEY, SfmcClient.from_config(app.config))
    return client
