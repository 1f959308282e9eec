"""Schema v3 (preference changes) on a journal a v2 release wrote: it migrates in place, on SQLite and
PostgreSQL, and what v2 journaled keeps its meaning, its idempotency and its place in line.

The v2 journal is made the way v2 made it: its schema statements (versions 1 and 2, unchanged in
``schema.py``) and its own insert and idempotency key, frozen here as v2 shipped them, on a real SQLite
file or a real PostgreSQL database; the app then opens it as it would after an upgrade.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from journal_helpers import NEWSLETTER, PRODUCT_NEWS, request_for

from app.identity import Recipient
from app.journal import queries
from app.journal.keys import person_key, target_key
from app.journal.models import Action, Scope, State, UnsubscribeRequest
from app.journal.schema import migrations
from app.journal.store import open_journal

#: v2's insert, as it shipped (the request's columns, the key, times, state).
V2_INSERT = (
    "INSERT INTO journal_entries (subscriber_key, subscriber_id, email, job_id, list_id, batch_id, mid, "
    "scope, reason_code, reason_text, language, source, dedupe_key, created_at, updated_at, "
    "next_attempt_at, state, finished_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def v2_dedupe_key(who: dict[str, Any], scope: str) -> str:
    """v2's idempotency key, as it shipped."""
    identity = [
        (who.get("subscriber_key") or "").strip(),
        (who.get("subscriber_id") or "").strip(),
        (who.get("email") or "").strip().lower(),
        (who.get("mid") or "").strip(),
        (who.get("job_id") or "").strip(),
        (who.get("list_id") or "").strip(),
        scope,
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


#: What a v2 journal holds: (identity, scope, state). Pending, finished, dead, purged; key, id or email.
V2_ROWS: list[tuple[dict[str, Any], str, str]] = [
    ({"subscriber_key": "demo-001", **NEWSLETTER}, "list", "pending"),
    ({"subscriber_key": "demo-001", **PRODUCT_NEWS}, "list", "pending"),
    ({"subscriber_key": "demo-002", "email": "demo002@example.com", **NEWSLETTER}, "all", "delivered"),
    ({"email": "only.email@example.com", "mid": NEWSLETTER["mid"], "job_id": "18099"}, "list", "pending"),
    ({"subscriber_id": "1003", **NEWSLETTER}, "list", "dead"),
    ({"job_id": "18099", "list_id": "17914", "mid": NEWSLETTER["mid"]}, "list", "delivered"),  # purged
]
IDENTITY = ("subscriber_key", "subscriber_id", "email", "job_id", "list_id", "batch_id", "mid")


@contextmanager
def raw_connection(database_url: str) -> Iterator[Any]:
    """A plain connection to the journal's database, ``?`` placeholders on both (no journal code)."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn.execute
        finally:
            conn.close()
        return
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield lambda sql, params=(): conn.execute(sql.replace("?", "%s"), params)


def write_v2_journal(database_url: str) -> None:
    """A journal as v2 left it: schema versions 1 and 2 and the rows above."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    sqlite = dialect == "sqlite"
    created = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with raw_connection(database_url) as execute:
        execute(queries.CREATE_SCHEMA_VERSION)
        for version, statements in enumerate(migrations(dialect)[:2], start=1):
            for statement in statements:
                execute(statement)
            execute(queries.ADD_SCHEMA_VERSION, (version,))
        for n, (who, scope, state) in enumerate(V2_ROWS):
            stamp = created + timedelta(seconds=n)
            when = stamp.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else stamp
            finished = None if state == "pending" else when
            named = any(who.get(name) for name in ("subscriber_key", "subscriber_id", "email"))
            key = v2_dedupe_key(who, scope) if named else None  # v2's purge emptied identity and key
            values = [who.get(name) for name in IDENTITY]
            values += [scope, "too_many", None, "en", "form", key, when, when, when, state, finished]
            execute(V2_INSERT, values)
        execute(
            "UPDATE journal_entries SET purged_at = updated_at WHERE subscriber_key IS NULL "
            "AND subscriber_id IS NULL AND email IS NULL"
        )


def test_a_v2_journal_migrates_in_place_and_keeps_what_it_held(database_url: str, tmp_path: Path) -> None:
    write_v2_journal(database_url)
    journal = open_journal(database_url, tmp_path)
    try:
        assert journal.migrate() == 3
        assert journal.schema_version() == 3
        entries = journal.entries()
        assert [entry.state for entry in entries] == [State(state) for _w, _s, state in V2_ROWS]
        for entry, (who, scope, _state) in zip(entries, V2_ROWS, strict=True):
            assert entry.request.recipient == Recipient(**{name: who.get(name) for name in IDENTITY})
            assert entry.request.scope is Scope(scope)
            # Everything v2 journaled was an unsubscribe: LogUnsubEvent, as it was sent then.
            assert entry.request.action is Action.UNSUBSCRIBE
            assert (entry.request.target_list_id, entry.request.reason_label) == (None, None)

        # The keys the migration wrote in SQL are the keys new entries get in Python.
        with raw_connection(database_url) as execute:
            rows = execute("SELECT id, person_key, target_key FROM journal_entries ORDER BY id").fetchall()
        stored = {row["id"]: (row["person_key"], row["target_key"]) for row in rows}
        for entry in entries:
            assert stored[entry.id] == (person_key(entry.request), target_key(entry.request)), entry.id
        assert stored[entries[0].id] == ("k:demo-001|510001000", "list:17914")
        assert stored[entries[3].id] == ("e:only.email@example.com|510001000", "job:18099")
        assert stored[entries[5].id][0] is None  # purged: nobody to line up

        # A double submit of what v2 still holds pending is that entry, as before the upgrade.
        again = journal.record(request_for("demo-001", NEWSLETTER, reason_code="other"))
        assert again.id == entries[0].id
        # v2's pending entries keep their place in line: demo-001's second list waits behind its first,
        # and so does a list change recorded now.
        change = journal.record(
            UnsubscribeRequest(
                Recipient(subscriber_key="demo-001", **NEWSLETTER),
                action=Action.LIST_RESUBSCRIBE,
                target_list_id="17914",
            )
        )
        claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=50, lease_seconds=30, owner="w")
        assert [e.id for e in claim.entries] == [entries[0].id, entries[3].id]
        assert change.id not in {e.id for e in claim.entries}
    finally:
        journal.close()
