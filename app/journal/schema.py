"""The journal's schema versions, for SQLite and PostgreSQL alike (``Journal.migrate`` applies them)."""

from __future__ import annotations

from . import queries


def migrations(dialect: str) -> list[list[str]]:
    """Schema versions in order; each is a list of statements applied in one transaction."""
    if dialect == "sqlite":
        id_column, time_type = "id INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"
    else:
        id_column, time_type = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ"
    version_1 = [
        f"""CREATE TABLE journal_entries (
            {id_column},
            dedupe_key TEXT,
            subscriber_key TEXT,
            subscriber_id TEXT,
            email TEXT,
            job_id TEXT,
            list_id TEXT,
            batch_id TEXT,
            mid TEXT,
            scope TEXT NOT NULL CHECK (scope IN ('list', 'all')),
            reason_code TEXT,
            reason_text TEXT,
            language TEXT,
            source TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'already', 'rejected', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            created_at {time_type} NOT NULL,
            updated_at {time_type} NOT NULL,
            next_attempt_at {time_type},
            claimed_by TEXT,
            claimed_until {time_type},
            last_error TEXT,
            error_code INTEGER,
            sfmc_request_id TEXT,
            sfmc_status_message TEXT,
            finished_at {time_type},
            purged_at {time_type}
        )""",
        # Idempotency: at most one pending entry per person + job/list + scope.
        "CREATE UNIQUE INDEX journal_entries_pending_dedupe ON journal_entries (dedupe_key) "
        "WHERE state = 'pending'",
        # Claims: due pending entries of one business unit, oldest first.
        "CREATE INDEX journal_entries_due ON journal_entries (mid, next_attempt_at) WHERE state = 'pending'",
        "CREATE INDEX journal_entries_state ON journal_entries (state, finished_at)",
    ]
    # /readyz proves the journal can write by committing a heartbeat here (one row), never touching an entry.
    version_2 = [
        f"""CREATE TABLE journal_heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            beat_at {time_type} NOT NULL,
            beat_by TEXT
        )""",
    ]
    # Preference changes (issue 12): what an entry changes and in which order a person's entries go out.
    # An existing journal migrates in place: its entries are unsubscribes (the default) and get their
    # person and target keys from the columns they have (``queries.BACKFILL_KEYS``).
    version_3 = [
        "ALTER TABLE journal_entries ADD COLUMN action TEXT NOT NULL DEFAULT 'unsubscribe' "
        "CHECK (action IN ('unsubscribe', 'list_unsubscribe', 'list_resubscribe'))",
        "ALTER TABLE journal_entries ADD COLUMN target_list_id TEXT",
        "ALTER TABLE journal_entries ADD COLUMN reason_label TEXT",
        "ALTER TABLE journal_entries ADD COLUMN person_key TEXT",
        "ALTER TABLE journal_entries ADD COLUMN target_key TEXT",
        "ALTER TABLE journal_entries ADD COLUMN dedupe_base TEXT",
        queries.BACKFILL_KEYS,
        # Head of line: a person's pending entries, oldest first.
        "CREATE INDEX journal_entries_person_pending ON journal_entries (person_key, id) "
        "WHERE state = 'pending'",
        # A request's latest different entry of the same target (its idempotency key names it).
        "CREATE INDEX journal_entries_person_target ON journal_entries (person_key, target_key, id)",
    ]
    return [version_1, version_2, version_3]
