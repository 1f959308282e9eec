"""Who unsubscribes and from which send: the one identity value links, journal and Marketing Cloud share.

A signed link names a subscriber (SubscriberKey, SubscriberID, EmailAddress) and the send the email came
from (JobID, ListID, BatchID, and the MID of its business unit); the journal stores exactly that, and the
LogUnsubEvent sends it. One frozen value carries it through all three layers, so no layer copies the
seven fields by hand into the next one's type. This module imports nothing of the app: each layer keeps
its own concerns (claims names, table columns, SOAP parameter names) and only shares the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Recipient:
    """The recipient of one send: the subscriber's identifiers and the send's context.

    IDs are decimal strings (or None); ``mid`` is the business unit the subscriber belongs to (Marketing
    Cloud's ``Client/ID`` when it is a child unit).
    """

    subscriber_key: str | None = None
    subscriber_id: str | None = None
    email: str | None = None
    job_id: str | None = None
    list_id: str | None = None
    batch_id: str | None = None
    mid: str | None = None

    @property
    def identified(self) -> bool:
        """True when Marketing Cloud can find a subscriber: a SubscriberKey, SubscriberID or EmailAddress."""
        return bool(self.subscriber_key or self.subscriber_id or self.email)

    @property
    def has_job_context(self) -> bool:
        """True when Marketing Cloud can tie this to a send: JobID or ListID (BatchID alone cannot)."""
        return bool(self.job_id or self.list_id)

    def without_job(self) -> Recipient:
        """The same subscriber without JobID, ListID and BatchID (a plain master unsubscribe); the MID stays,
        because the subscriber still belongs to that business unit."""
        return replace(self, job_id=None, list_id=None, batch_id=None)

    def without_blanks(self) -> Recipient:
        """Empty strings as None: an empty identifier means "not given" to Marketing Cloud, never "blank"."""
        if all(value != "" for value in astuple(self)):
            return self
        return Recipient(*(value or None for value in astuple(self)))

    def as_dict(self) -> dict[str, str | None]:
        """The fields by name (``FIELDS`` order): what a table row or a CSV row holds of the identity."""
        return dict(zip(FIELDS, astuple(self), strict=True))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Recipient:
        """The identity in a record keyed by field name (a journal row, a CSV row), values as they are."""
        return cls(**{name: values[name] for name in FIELDS})


#: The field names, in order: the journal's column names and the CSV import/export header use them too.
FIELDS: tuple[str, ...] = tuple(field.name for field in fields(Recipient))
#: The fields that hold Marketing Cloud's numeric IDs (decimal strings); the others are free text.
ID_FIELDS: tuple[str, ...] = ("subscriber_id", "job_id", "list_id", "batch_id", "mid")
