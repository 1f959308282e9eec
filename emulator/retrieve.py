"""Retrieve: which units a request reads, its filter, its properties, and paging with ``ContinueRequest``.

Errors are answers, not faults (PROTOCOL.md): HTTP 200 with ``OverallStatus`` ``Error: <message>`` and no
Results. Pages hold ``page_size`` rows (2,500, as Marketing Cloud's; ``--page-size`` makes it smaller for
tests); a page with more to come says ``MoreDataAvailable`` and its ``RequestID`` continues it, sent alone in
a RetrieveRequest or with ObjectType/Properties/Filter repeated (those are then ignored). Rows are taken
when the first page is asked for; the rest wait in ``Continuations``.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .object_types import TYPES, ObjectType, Row
from .unsub import to_int
from .wire_read import Filter, RetrieveQuery

if TYPE_CHECKING:
    from .state import Account

PAGE_SIZE = 2500
MAX_PENDING = 256  # continuations kept; the oldest is forgotten first
OPERATORS = ("equals", "notEquals", "IN", "isNull", "isNotNull", "like")


class RetrieveError(Exception):
    """The request is answered ``Error: <message>``."""


@dataclass
class RetrieveAnswer:
    """One page (or an error) and what the counters need."""

    status: str  # "OK" | "MoreDataAvailable" | "Error: ..."
    request_id: str
    counted_as: str  # the object type for stats (``_unknown`` for names that are no type)
    object_type: ObjectType | None = None
    properties: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


class Continuations:
    """The pages not yet fetched, by the RequestID that announced them (bounded, oldest dropped first)."""

    def __init__(self) -> None:
        self._pending: OrderedDict[str, tuple[ObjectType, list[str], list[Row]]] = OrderedDict()

    def put(self, request_id: str, object_type: ObjectType, properties: list[str], rows: list[Row]) -> None:
        """Keep ``rows`` for a later ``ContinueRequest`` naming ``request_id``."""
        self._pending[request_id] = (object_type, properties, rows)
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)

    def take(self, request_id: str) -> tuple[ObjectType, list[str], list[Row]] | None:
        """The rows left after that page (each page continues once)."""
        return self._pending.pop(request_id, None)


def retrieve(
    account: Account, token_mid: int, query: RetrieveQuery, page_size: int, pending: Continuations
) -> RetrieveAnswer:
    """Answer one RetrieveRequest (a first page or a continuation)."""
    request_id = str(uuid.uuid4())
    if query.continue_request is not None:
        kept = pending.take(query.continue_request)
        if kept is None:
            text = f"Error: The ContinueRequest {query.continue_request} is not a request with more data."
            return RetrieveAnswer(text, request_id, query.object_type or "_unknown")
        object_type, properties, rows = kept
    else:
        object_type = TYPES.get(query.object_type or "")
        if object_type is None:
            text = (
                f"Error: Unable to find a handler for object type: {query.object_type or ''}. "
                "Object types are case-sensitive, check spelling."
            )
            return RetrieveAnswer(text, request_id, "_unknown")
        properties = query.properties
        try:
            rows = _rows(account, token_mid, object_type, query)
        except RetrieveError as exc:
            return RetrieveAnswer(f"Error: {exc}", request_id, object_type.name, object_type)
    page, rest = rows[:page_size], rows[page_size:]
    status = "OK"
    if rest:
        status = "MoreDataAvailable"
        pending.put(request_id, object_type, properties, rest)
    return RetrieveAnswer(status, request_id, object_type.name, object_type, properties, page)


def _rows(account: Account, token_mid: int, object_type: ObjectType, query: RetrieveQuery) -> list[Row]:
    retrievable = set(object_type.properties)
    wrong = [p for p in query.properties if p not in retrievable]
    if wrong or not query.properties:
        # Marketing Cloud's text; with no properties at all the names are simply missing [I].
        names = ", ".join(wrong)
        text = f"The Request Property(s) {names} do not match with the fields of {object_type.name} retrieve"
        raise RetrieveError(text.replace("  ", " "))
    if query.filter is not None:
        _check_filter(query.filter, object_type)
    units = _units(account, token_mid, query)
    keys = _pinned_keys(query.filter)
    return [
        row
        for row in object_type.rows(account, units, keys)
        if query.filter is None or _matches(query.filter, row, object_type)
    ]


def _units(account: Account, token_mid: int, query: RetrieveQuery) -> list[int]:
    """QueryAllAccounts: the token's unit and all below (ClientIDs ignored); else ClientIDs or the token's."""
    if query.query_all_accounts:
        return account.units_below(token_mid)
    if not query.client_ids:
        return [token_mid]
    units = []
    for text in query.client_ids:
        mid = to_int(text)
        if mid is None or not account.may_act_in(token_mid, mid):
            raise RetrieveError(f"Client ID {text} is not a business unit this token may act in.")  # [I]
        units.append(mid)
    return list(dict.fromkeys(units))


def _check_filter(part: Filter, object_type: ObjectType) -> None:
    if part.kind == "ComplexFilterPart":
        if part.left is None or part.right is None or (part.logical or "").upper() not in ("AND", "OR"):
            raise RetrieveError(
                "A ComplexFilterPart needs LeftOperand, LogicalOperator AND/OR and RightOperand."
            )
        _check_filter(part.left, object_type)
        _check_filter(part.right, object_type)
        return
    if part.kind != "SimpleFilterPart":
        raise RetrieveError(f"The filter type {part.kind} is not supported by the emulator.")  # [I]
    if part.property not in object_type.properties:
        raise RetrieveError(
            f"The Filter Property {part.property} is not a property of {object_type.name}."
        )  # [I]
    if part.operator not in OPERATORS:
        raise RetrieveError(f"The SimpleOperator {part.operator} is not supported by the emulator.")  # [I]


def _pinned_keys(part: Filter | None) -> set[str] | None:
    """``SubscriberKey equals/IN …`` at the top: only those people's rows need to be made."""
    if part is None or part.kind != "SimpleFilterPart" or part.property != "SubscriberKey":
        return None
    return set(part.values) if part.operator in ("equals", "IN") else None


def _matches(part: Filter, row: Row, object_type: ObjectType) -> bool:
    if part.kind == "ComplexFilterPart":
        assert part.left is not None and part.right is not None
        left = _matches(part.left, row, object_type)
        right = _matches(part.right, row, object_type)
        return (left and right) if (part.logical or "").upper() == "AND" else (left or right)
    value = row.get(part.property or "")
    if part.operator == "isNull":
        return value is None or value == ""
    if part.operator == "isNotNull":
        return value is not None and value != ""
    if value is None:
        return False
    numeric = part.property in object_type.numeric

    def same(wanted: str) -> bool:
        if not numeric:
            return wanted == value
        number = to_int(wanted)
        return number is not None and number == to_int(value)

    if part.operator == "equals":
        return bool(part.values) and same(part.values[0])
    if part.operator == "notEquals":
        return bool(part.values) and not same(part.values[0])
    if part.operator == "IN":
        return any(same(wanted) for wanted in part.values)
    # like: SQL's % and _ wildcards, case-insensitive as Marketing Cloud's collation.
    pattern = (part.values[0] if part.values else "").replace("%", "*").replace("_", "?")
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())
