"""The journal's plain values and errors, shared by its modules (no I/O, so every module may import them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.identity import FIELDS as RECIPIENT_FIELDS
from app.identity import Recipient

from .models import Action, JournalEntry, Scope, Source, State, UnsubscribeRequest

#: The columns that hold an ``UnsubscribeRequest``: its recipient's fields, then its own (same names).
REQUEST_COLUMNS = (
    *RECIPIENT_FIELDS,
    "scope",
    "reason_code",
    "reason_text",
    "language",
    "source",
    "action",
    "target_list_id",
    "reason_label",
)


def request_values(request: UnsubscribeRequest) -> list[Any]:
    """The insert's values of ``request``, in ``REQUEST_COLUMNS`` order (the identity's columns are named
    after ``Recipient``'s fields)."""
    named = request.recipient.as_dict() | {
        "scope": str(request.scope),
        "reason_code": request.reason_code,
        "reason_text": request.reason_text,
        "language": request.language,
        "source": str(request.source),
        "action": str(request.action),
        "target_list_id": request.target_list_id,
        "reason_label": request.reason_label,
    }
    return [named[column] for column in REQUEST_COLUMNS]


def request_from_row(row: Any) -> UnsubscribeRequest:
    """The request a journal row holds (the inverse of ``request_values``)."""
    return UnsubscribeRequest(
        Recipient.from_mapping(row),
        scope=Scope(row["scope"]),
        reason_code=row["reason_code"],
        reason_text=row["reason_text"],
        language=row["language"],
        source=Source(row["source"]),
        action=Action(row["action"]),
        target_list_id=row["target_list_id"],
        reason_label=row["reason_label"],
    )


class JournalError(Exception):
    """The journal's storage cannot be opened or used."""


class JournalUnavailableError(JournalError):
    """The journal cannot be reached or written right now: connection refused or lost, no connection free
    within the wait, the disk full, the writer lock held elsewhere past its bound. The page says "try again"
    (503); nothing was promised."""


class JournalConnectionLost(JournalUnavailableError):
    """The database connection broke during a transaction (a restart, a failover, an ended session): the
    same work may be retried on a new connection."""


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt decided for one entry; applied only while the attempt's claim holds.

    ``state`` PENDING means "try again at ``next_attempt_at``". ``possible_duplicate`` is True when the
    attempt may have reached Marketing Cloud without us learning the answer.
    """

    entry_id: int
    state: State
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    error_code: int | None = None
    sfmc_request_id: str | None = None
    sfmc_status_message: str | None = None
    possible_duplicate: bool = False


@dataclass(frozen=True)
class Claim:
    """Entries one attempt holds until ``until``; ``token`` identifies the attempt in conditional updates."""

    token: str
    until: datetime
    entries: list[JournalEntry]


def utcnow() -> datetime:
    """Now, aware and in UTC: every time the journal stores is UTC."""
    return datetime.now(UTC)


def new_lease(owner: str, lease_seconds: float, now: datetime) -> tuple[str, datetime]:
    """A new claim's token (the owner, made unique) and the end of its lease."""
    return f"{owner}:{uuid.uuid4().hex[:12]}", now + timedelta(seconds=lease_seconds)


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (database errors carry hints on further lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
