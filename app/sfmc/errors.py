"""The Marketing Cloud client's exceptions: one base, subclasses that carry what a caller decides on.

Third-party exceptions (requests, lxml) are translated where they enter, ``raise … from exc``, so callers
only ever catch ``SfmcError`` and its subclasses.
"""

from __future__ import annotations

from typing import ClassVar

from .models import SoapFault


class SfmcError(Exception):
    """Anything that went wrong talking to Marketing Cloud."""

    #: How a call that failed with this counts for the observer (``on_call``) and so in /metrics.
    outcome: ClassVar[str] = "protocol"

    def __init__(self, message: str, *, fault: SoapFault | None = None) -> None:
        super().__init__(message)
        self.fault = fault


class SfmcTransientError(SfmcError):
    """The whole call failed for a reason that may pass: timeout, connection error, 5xx, throttling, outage.

    ``maybe_sent`` is True when the request may have reached Marketing Cloud (read timeout, connection
    dropped after sending, an unreadable answer from a proxy): a retry may then repeat the event, so the
    caller decides, not this client.
    """

    outcome = "transient"

    def __init__(self, message: str, *, maybe_sent: bool, fault: SoapFault | None = None) -> None:
        super().__init__(message, fault=fault)
        self.maybe_sent = maybe_sent


class SfmcAuthError(SfmcError):
    """Credentials refused (``invalid_client``), or the token was refused again after one refresh."""

    outcome = "auth"


class SfmcProtocolError(SfmcError):
    """An answer we cannot read, or a ``soap:Client`` fault: Marketing Cloud could not read our request."""

    outcome = "protocol"


class SfmcConfigError(SfmcError):
    """The client is configured wrongly (missing or malformed setting); nothing was sent."""

    outcome = "config"


class SfmcRequestError(SfmcError, ValueError):
    """A request we refuse to build (no requests, more than 50, a MID that is not a number, ...)."""

    outcome = "request"


class SfmcRetrieveError(SfmcError):
    """Marketing Cloud read a Retrieve and refused it: ``OverallStatus`` ``Error: <message>`` (HTTP 200).

    The message is Marketing Cloud's own (an unknown object type, a property it does not know). The same
    request gets the same answer, so retrying it cannot help; a Retrieve changes nothing, so nothing is lost.
    """

    outcome = "refused"
