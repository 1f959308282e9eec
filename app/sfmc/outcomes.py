"""How one result of a call reads for the person: ``OutcomeKind`` from StatusCode and ErrorCode, given the
call's code tables (Execute's in ``response``, Update's in ``object_response``): one reading for both."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .models import OutcomeKind, UnsubOutcome


def read_outcome(
    status_text: str | None,
    message_text: str | None,
    code_text: str | None,
    *,
    already: Collection[int],
    rejected: Collection[int],
    meanings: Mapping[int, str],
    call: str,
) -> UnsubOutcome:
    """One result's outcome (Execute's and Update's alike), given the call's code tables: ``OK`` is
    DELIVERED, a code in ``already`` ALREADY, in ``rejected`` REJECTED; no ErrorCode at all REJECTED; an
    empty or unknown code TRANSIENT (``call`` names the call in the meaning of an unknown code)."""
    status_code = stripped(status_text)
    status_message = stripped(message_text)
    raw_error_code = stripped(code_text)
    error_code = int_or_none(raw_error_code)
    if status_code is not None and status_code.upper() == "OK":
        kind, meaning = OutcomeKind.DELIVERED, None
    elif error_code in already:
        kind, meaning = OutcomeKind.ALREADY, meanings[error_code]
    elif error_code in rejected:
        kind, meaning = OutcomeKind.REJECTED, meanings[error_code]
    elif code_text is None:
        # No ErrorCode at all: "Unable to find a handler for the X method.", "Object reference not set to
        # an instance of an object.", a Client/ID that is no unit the token may act in. Marketing Cloud
        # read the request and refused it; the same bytes get the same answer, so it is not retried.
        kind, meaning = OutcomeKind.REJECTED, "refused without an ErrorCode"
    elif raw_error_code is None:
        kind, meaning = OutcomeKind.TRANSIENT, "an empty ErrorCode"
    else:
        kind = OutcomeKind.TRANSIENT
        meaning = f"error code {raw_error_code} is not one {call} documents"
    return UnsubOutcome(
        kind=kind,
        status_code=status_code,
        status_message=status_message,
        error_code=error_code,
        meaning=meaning,
    )


def stripped(text: str | None) -> str | None:
    """An element's text without surrounding blanks; None when absent or blank."""
    if text is None:
        return None
    return text.strip() or None


def int_or_none(text: str | None) -> int | None:
    """A number as Marketing Cloud writes it (``12012``, `` 17 ``), or None when it is none."""
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None
