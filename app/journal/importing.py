"""Reading a `journal import` file: UTF-8 CSV rows to unsubscribe requests, one problem per bad row.

The whole file is read and checked before anything is journaled: a file that is not UTF-8 is refused as a
whole (its first undecodable line named), bad rows are reported by their physical line number.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import IO

from app.identity import FIELDS, ID_FIELDS, Recipient

from .models import REASON_LABELS, Scope, Source, UnsubscribeRequest

#: The identity's columns are named after ``Recipient``'s fields; then what the request adds.
IMPORT_COLUMNS = (*FIELDS, "scope", "reason")
_DIGITS = re.compile(r"[0-9]{1,19}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_FIELD_CHARS = 254  # an email address's limit; no identifier we send is longer
MAX_REASON_CHARS = 500  # as the form's free text allows; Marketing Cloud gets the first 100 units anyway


@dataclass(frozen=True)
class ImportProblem:
    """One reason a row (by its physical line number) or the whole file was not imported."""

    line: int
    message: str


def parse_import(stream: IO[str]) -> tuple[list[tuple[int, UnsubscribeRequest]], list[ImportProblem]]:
    """Read an import CSV: the requests of good rows (with their line numbers) and one problem per bad row.

    The header must name exactly the import columns (any order). Any value may be empty, but each row
    needs someone to unsubscribe (subscriber_key, subscriber_id or email).
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return [], [ImportProblem(1, "the file is empty; expected a header row")]
    except csv.Error as exc:
        return [], [ImportProblem(1, f"unreadable header: {exc}")]
    names = [name.strip().lower() for name in header]
    if sorted(names) != sorted(IMPORT_COLUMNS):
        return [], [ImportProblem(1, f"the header must be {','.join(IMPORT_COLUMNS)}")]
    good: list[tuple[int, UnsubscribeRequest]] = []
    problems: list[ImportProblem] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(ImportProblem(start, f"unreadable row: {exc}"))
            line = reader.line_num
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not rows
        if len(row) != len(names):
            problems.append(ImportProblem(start, f"expected {len(names)} values, found {len(row)}"))
            continue
        values = {name: cell.strip() for name, cell in zip(names, row, strict=True)}
        try:
            good.append((start, _import_request(values)))
        except ValueError as exc:
            problems.append(ImportProblem(start, str(exc)))
    return good, problems


def _import_request(values: dict[str, str]) -> UnsubscribeRequest:
    for name, value in values.items():
        limit = MAX_REASON_CHARS if name == "reason" else MAX_FIELD_CHARS
        if len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    recipient = Recipient.from_mapping(values).without_blanks()
    if not recipient.identified:
        raise ValueError("needs a subscriber_key, subscriber_id or email")
    for name in ID_FIELDS:
        if values[name] and not _DIGITS.fullmatch(values[name]):
            raise ValueError(f"{name} must be a number")
    if recipient.email and not _EMAIL.fullmatch(recipient.email):
        raise ValueError("email is not an email address")
    scope_text = values["scope"].lower() or "list"
    if scope_text not in ("list", "all"):
        raise ValueError("scope must be list or all")
    reason = values["reason"]
    if not reason:
        reason_code, reason_text = None, None
    elif reason in REASON_LABELS:
        reason_code, reason_text = reason, None
    else:  # free text from the support desk or the legacy system
        reason_code, reason_text = "other", reason
    return UnsubscribeRequest(
        recipient,
        scope=Scope(scope_text),
        reason_code=reason_code,
        reason_text=reason_text,
        source=Source.IMPORT,
    )


def decode_import(data: bytes) -> str | ImportProblem:
    """The file's text (UTF-8, a BOM allowed), or the problem naming the first line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return ImportProblem(line, "not UTF-8 text (save the file as UTF-8); nothing was imported")
