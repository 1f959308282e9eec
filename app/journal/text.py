"""What the journal stores of a person's text: everything except characters no database or XML can hold.

PostgreSQL refuses NUL in text, psycopg cannot encode a lone surrogate (a signed link's JSON may carry
``\\ud800``), and XML 1.0 — the SOAP call to Marketing Cloud — has no way to carry the other C0 control
characters, U+FFFE or U+FFFF. They are removed (not replaced) from every text field of a request before it
is journaled, on SQLite and PostgreSQL alike, so the same request gives the same entry and the same
idempotency key on both; tab, line feed and carriage return stay.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import TypeVar

from app.identity import Recipient

from .models import UnsubscribeRequest

_Record = TypeVar("_Record", UnsubscribeRequest, Recipient)
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def storable(text: str | None) -> str | None:
    """``text`` without the characters a database or XML 1.0 cannot hold (None stays None)."""
    if text is None:
        return None
    return _UNSTORABLE.sub("", text)


def storable_request(request: UnsubscribeRequest) -> UnsubscribeRequest:
    """``request`` with every text field, its recipient's included, made ``storable`` (the same object when
    nothing changes)."""
    recipient = _storable_fields(request.recipient)
    request = _storable_fields(request)
    return request if recipient is request.recipient else replace(request, recipient=recipient)


def _storable_fields(value: _Record) -> _Record:
    """``value`` with its own text fields made ``storable``; the same object when none change."""
    changes = {
        field.name: storable(text)
        for field in fields(value)
        if isinstance(text := getattr(value, field.name), str) and _UNSTORABLE.search(text)
    }
    return replace(value, **changes) if changes else value
