"""`flask journal …`: deliver, import, status, list, retry-dead, export, purge.

Nothing here prints personal data except `export`, which is the audit trail an operator asks for
on purpose (see docs/journal.md); logs mask them everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

import click
from flask import current_app
from flask.cli import AppGroup

from .importing import ImportProblem, decode_import, parse_import
from .models import JournalEntry, Scope, State
from .values import REQUEST_COLUMNS, JournalError, request_values
from .worker import run_forever, run_once, stop_on_signals


class _JournalGroup(AppGroup):
    """``flask journal``: a journal that cannot be reached or written ends any command with one line
    (``journal: …``) and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a ``JournalError`` becomes one line and exit 1 (scripts and cron read it)."""
        try:
            return super().invoke(ctx)
        except JournalError as exc:
            click.echo(f"journal: {exc}", err=True)
            sys.exit(1)


journal_cli = _JournalGroup("journal", help="The unsubscribe journal: deliver, import, inspect, maintain.")

EXPORT_COLUMNS = (
    "id",
    "state",
    "attempts",
    "duplicates",
    "created_at",
    "updated_at",
    "finished_at",
    "next_attempt_at",
    *REQUEST_COLUMNS,
    "last_error",
    "error_code",
    "sfmc_request_id",
    "sfmc_status_message",
    "purged_at",
)


def _journal() -> Any:
    return current_app.extensions["journal"]


def _delivery() -> Any:
    return current_app.extensions["journal_delivery"]


# -- deliver -------------------------------------------------------------------------------------------


@journal_cli.command("deliver")
@click.option(
    "--forever", is_flag=True, help="Keep delivering every WORKER_POLL_SECONDS until SIGTERM/SIGINT."
)
def deliver_command(forever: bool) -> None:
    """Send due entries to Marketing Cloud in batches (once, or --forever)."""
    delivery = _delivery()
    stop = threading.Event()
    with stop_on_signals(stop):
        if forever:
            click.echo(
                f"journal worker delivering every {delivery.settings.poll_seconds:g} s; SIGTERM stops it"
            )
            report = run_forever(delivery, stop=stop, on_drain=lambda r: click.echo(_report_line(r)))
        else:
            report = run_once(delivery, stop=stop)
    click.echo(f"delivered: {_report_line(report)}")


def _report_line(report: Any) -> str:
    outcomes = ", ".join(f"{key} {n}" for key, n in sorted(report.outcomes.items())) or "nothing sent"
    failed = f", {report.failed_calls} failed call(s)" if report.failed_calls else ""
    buried = f", {report.buried} abandoned entr(ies) now dead" if report.buried else ""
    return f"{report.calls} call(s), {report.sent} entries: {outcomes}{failed}{buried}"


# -- import --------------------------------------------------------------------------------------------


@journal_cli.command("import")
@click.argument("file", type=click.File("rb"))
def import_command(file: IO[bytes]) -> None:
    """Journal requests from a UTF-8 CSV (header: subscriber_key,subscriber_id,email,job_id,list_id,batch_id,
    mid,scope,reason). Bad rows are reported by line and skipped; the worker delivers the rest. Exit status 1
    when any row was skipped. A file that is not UTF-8 is refused as a whole."""
    text = decode_import(file.read())
    if isinstance(text, ImportProblem):
        click.echo(f"line {text.line}: {text.message}", err=True)
        sys.exit(1)
    journal = _journal()
    good, problems = parse_import(io.StringIO(text, newline=""))
    ids: set[int] = set()
    for _line, request in good:
        ids.add(journal.record(request).id)
    for problem in problems:
        click.echo(f"line {problem.line}: skipped: {problem.message}", err=True)
    twins = len(good) - len(ids)
    click.echo(
        f"imported {len(good)} row(s) as {len(ids)} pending entr(ies)"
        + (f" ({twins} already pending)" if twins else "")
        + f"; skipped {len(problems)} bad row(s)"
    )
    if problems:
        sys.exit(1)


# -- status --------------------------------------------------------------------------------------------


@journal_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def status_command(as_json: bool) -> None:
    """Entries per state, the oldest pending entry's age and possible duplicates."""
    stats = _journal().stats()
    if as_json:
        click.echo(json.dumps(stats, sort_keys=True))
        return
    for state, count in stats["counts"].items():
        click.echo(f"{state:<10} {count:>8}")
    for action, counts in stats["actions"].items():
        by_state = ", ".join(f"{state} {n}" for state, n in counts.items() if n) or "none"
        click.echo(f"{action}: {by_state}")
    age = stats["oldest_pending_age_seconds"]
    click.echo(f"oldest pending: {'none' if age is None else _duration(age)}")
    click.echo(f"possible duplicates: {stats['possible_duplicates']}")
    click.echo(f"database: {stats['database']} (schema version {stats['schema_version']})")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# -- list ----------------------------------------------------------------------------------------------

LIST_HEADER = f"{'id':>8}  {'state':<9}  {'action':<16}  {'list':<10}  {'mid':<10}  {'tries':>5}  created"


@journal_cli.command("list")
@click.option(
    "--state", type=click.Choice([str(state) for state in State]), help="Only entries in this state."
)
@click.option("--after", "after_id", type=click.IntRange(min=0), default=0, help="Entries after this id.")
@click.option("--limit", type=click.IntRange(min=1, max=10000), default=50, show_default=True)
def list_command(state: str | None, after_id: int, limit: int) -> None:
    """Entries in id order, one line each: state, action and the list it changes (the link's own list
    for an unsubscribe, "all" for all email), business unit, attempts, last error. No personal data."""
    entries = _journal().entries(state=State(state) if state else None, after_id=after_id, limit=limit)
    click.echo(LIST_HEADER)
    for entry in entries:
        click.echo(_list_line(entry))


def _list_line(entry: JournalEntry) -> str:
    request = entry.request
    if request.action.changes_a_list:
        changed = request.target_list_id or ""
    else:
        changed = "all" if request.scope is Scope.ALL else request.recipient.list_id or "(job)"
    line = (
        f"{entry.id:>8}  {entry.state:<9}  {request.action:<16}  {changed:<10}  "
        f"{request.recipient.mid or '':<10}  {entry.attempts:>5}  {entry.created_at:%Y-%m-%d %H:%M:%S}"
    )
    return line + (f"  {entry.last_error}" if entry.last_error else "")


# -- retry-dead ----------------------------------------------------------------------------------------


@journal_cli.command("retry-dead")
@click.option("--id", "entry_ids", type=int, multiple=True, help="Only this entry (repeatable).")
def retry_dead_command(entry_ids: tuple[int, ...]) -> None:
    """Make dead entries pending again with a fresh attempt budget (after fixing the cause)."""
    retried, skipped = _journal().retry_dead(entry_ids=list(entry_ids) if entry_ids else None)
    click.echo(
        f"retrying {retried} dead entr(ies)"
        + (f"; {skipped} skipped (purged, a pending twin, or changed again since)" if skipped else "")
    )


# -- export --------------------------------------------------------------------------------------------


@journal_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File (default stdout)."
)
def export_command(fmt: str, output: IO[str]) -> None:
    """The audit trail: every entry with its full data (emails included) and delivery outcome."""
    rows = (_export_row(entry) for entry in _journal().iter_entries())
    if fmt == "jsonl":
        for row in rows:
            output.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        _write_csv(output, rows)


def _export_row(entry: JournalEntry) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": entry.id,
        "state": str(entry.state),
        "attempts": entry.attempts,
        "duplicates": entry.duplicates,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "finished_at": entry.finished_at,
        "next_attempt_at": entry.next_attempt_at,
        # Who, which send, what was asked: action and target list tell a preference change from an
        # unsubscribe (``REQUEST_COLUMNS``, the table's own columns, in order).
        **dict(zip(REQUEST_COLUMNS, request_values(entry.request), strict=True)),
        "last_error": entry.last_error,
        "error_code": entry.error_code,
        "sfmc_request_id": entry.sfmc_request_id,
        "sfmc_status_message": entry.sfmc_status_message,
        "purged_at": entry.purged_at,
    }
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in values.items()}


def _write_csv(output: IO[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(output)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[column] is None else _cell(row[column]) for column in EXPORT_COLUMNS])


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (free text comes from users)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# -- purge ---------------------------------------------------------------------------------------------


@journal_cli.command("purge")
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True, metavar="DAYS")
@click.option("--include-dead", is_flag=True, help="Also purge dead entries (they were never delivered).")
def purge_command(days: float, include_dead: bool) -> None:
    """Drop personal data (identifiers, email, free text) of entries finished more than DAYS ago.

    States, dates, job context and counts stay, so reports and `status` still add up.
    """
    purged = _journal().purge(older_than_days=days, include_dead=include_dead)
    click.echo(f"purged personal data of {purged} entr(ies) finished more than {days:g} day(s) ago")
