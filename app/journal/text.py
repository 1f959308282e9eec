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

from .models import UnsubscribeRequest

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def storable(text: str | None) -> str | None:
    """``text`` without the characters a database or XML 1.0 cannot hold (None stays None)."""
    if text is None:
        return None
    return _UNSTORABLE.sub("", text)


def storable_request(request: UnsubscribeRequest) -> UnsubscribeRequest:
    """``request`` with every text field made ``storable`` (the same object when nothing changes)."""
    changes = {
        field.name: storable(value)
        for field in fields(request)
        if isinstance(value := getattr(request, field.name), str) and _UNSTORABLE.search(value)
    }
    return replace(request, **changes) if changes else request
