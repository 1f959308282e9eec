"""Values that cross the boundary of the Marketing Cloud client: what we ask, what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.identity import Recipient

#: Marketing Cloud's published soft limit of objects in one synchronous call.
MAX_REQUESTS_PER_CALL = 50


@dataclass(frozen=True)
class LogUnsubEvent:
    """One LogUnsubEvent request. Only the fields that are set are sent, in the documented order.

    ``recipient`` gives SubscriberID, SubscriberKey, EmailAddress, JobID, ListID and BatchID; its ``mid``
    becomes ``Client/ID``: the child business unit the request acts in.
    """

    recipient: Recipient = field(default_factory=Recipient)
    reason: str | None = None


class OutcomeKind(StrEnum):
    """What one request's result means for the person and for the journal."""

    DELIVERED = "delivered"  # StatusCode OK: unsubscribed and the event logged
    ALREADY = "already"  # ErrorCode 401 or 12012: the person is unsubscribed already
    REJECTED = "rejected"  # ErrorCode 400, 402-407, or an error without ErrorCode: a retry cannot succeed
    TRANSIENT = "transient"  # an error code we do not know (or cannot read): worth retrying later


@dataclass(frozen=True)
class UnsubOutcome:
    """The result of one LogUnsubEvent, matched to its request by position."""

    kind: OutcomeKind
    status_code: str | None = None
    status_message: str | None = None
    error_code: int | None = None
    meaning: str | None = None  # our plain-language reading of the error code, for logs and ops

    @property
    def unsubscribed(self) -> bool:
        """True when the person is unsubscribed now (delivered, or already was)."""
        return self.kind in (OutcomeKind.DELIVERED, OutcomeKind.ALREADY)

    @property
    def summary(self) -> str:
        """One line for ``last_error`` and logs: Marketing Cloud's own words first, then the code.

        The StatusMessage names what really failed (``The specified ListID could not be found.``), where our
        reading of a code can only repeat the documentation (400 is documented for a JobID), so it comes
        first; our ``meaning`` only stands in when there is no message.
        """
        said = self.status_message
        if self.error_code is not None:
            return (
                f"{said} (ErrorCode {self.error_code})"
                if said
                else f"ErrorCode {self.error_code}: {self.meaning}"
            )
        if said:
            return f"{said} ({self.meaning})" if self.meaning else said
        return self.meaning or "no StatusMessage and no ErrorCode"


@dataclass(frozen=True)
class ExecuteResult:
    """A parsed Execute response: the overall status and one outcome per request, in order."""

    overall_status: str
    request_id: str | None
    outcomes: list[UnsubOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class SoapFault:
    """A SOAP fault as Marketing Cloud sends it (HTTP 500)."""

    faultcode: str
    faultstring: str
    api_code: int | None = None
    api_message: str | None = None


def with_refusals(refusals: list[str | None], sent: list[UnsubOutcome]) -> list[UnsubOutcome]:
    """One outcome per request of a batch: ``sent[i]`` for the i-th request that was sent, REJECTED
    ``not sent: <why>`` for each request refused before sending (``refusals[i]`` not None)."""
    answers = iter(sent)
    return [
        next(answers)
        if refusal is None
        else UnsubOutcome(kind=OutcomeKind.REJECTED, meaning=f"not sent: {refusal}")
        for refusal in refusals
    ]
