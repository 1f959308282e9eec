"""The journal's storage on SQLite and PostgreSQL: durable record, idempotency, leases, purge, retry-dead."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from journal_helpers import NEWSLETTER, PRODUCT_NEWS, ROOT, request_for

from app.identity import Recipient
from app.journal import queries
from app.journal.models import Scope, Source, State, UnsubscribeRequest
from app.journal.store import Journal, open_journal
from app.journal.values import REQUEST_COLUMNS, AttemptResult, utcnow
from testkit.processes import hold_journal_writer


@pytest.fixture
def journal(database_url: str, tmp_path: Path) -> Iterator[Journal]:
    journal = open_journal(database_url, tmp_path)
    yield journal
    journal.close()


def test_schema_is_created_once_and_reopening_is_idempotent(database_url: str, tmp_path: Path) -> None:
    first = open_journal(database_url, tmp_path)
    entry = first.record(request_for("demo-001", NEWSLETTER))
    second = open_journal(database_url, tmp_path)  # a second process starting on the same database
    try:
        assert first.schema_version() == second.schema_version() == 3
        assert second.get(entry.id) == entry
        assert second.migrate() == 3
    finally:
        first.close()
        second.close()


def test_unset_database_url_means_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    journal = open_journal(None, tmp_path)
    try:
        entry = journal.record(request_for("demo-001", NEWSLETTER))
        assert (tmp_path / "journal.sqlite3").is_file()
        assert journal.dialect == "sqlite"
        assert _committed(f"sqlite:///{tmp_path / 'journal.sqlite3'}", tmp_path, entry.id) == entry
    finally:
        journal.close()


def _committed(database_url: str, tmp_path: Path, entry_id: int) -> object:
    """The entry as another process opening the database sees it: what was committed, not what one
    connection returned (an id alone proves nothing: SQLite hands a rolled-back id out again)."""
    other = open_journal(database_url, tmp_path)
    try:
        return other.get(entry_id)
    finally:
        other.close()


def test_sqlite_file_uses_wal_and_full_sync(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite:///{tmp_path / 'j.sqlite3'}", tmp_path)
    try:
        with journal._borrowed() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert conn.execute("PRAGMA cache_size").fetchone()[0] == -256  # KiB per pooled connection
    finally:
        journal.close()


def test_record_is_committed_before_it_returns(journal: Journal, database_url: str, tmp_path: Path) -> None:
    entry = journal.record(
        UnsubscribeRequest(
            Recipient(subscriber_key="demo-031", email="zoë.031@example.com", **NEWSLETTER),
            scope=Scope.ALL,
            reason_code="other",
            reason_text="Trop de courriels, merci",
            language="fr",
            source=Source.FORM,
        )
    )
    if database_url.startswith("sqlite"):
        # Another connection (another process, in production) sees it without any commit of ours.
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as other:
            row = other.execute(
                "SELECT email, state FROM journal_entries WHERE id = ?", (entry.id,)
            ).fetchone()
        assert row == ("zoë.031@example.com", "pending")
    else:
        import psycopg

        with psycopg.connect(database_url) as other:
            row = other.execute(
                "SELECT email, state FROM journal_entries WHERE id = %s", (entry.id,)
            ).fetchone()
        assert row == ("zoë.031@example.com", "pending")
    assert entry.state is State.PENDING
    assert entry.attempts == 0
    assert entry.request.reason_text == "Trop de courriels, merci"
    assert entry.next_attempt_at is not None


def test_same_request_while_pending_is_one_entry(journal: Journal) -> None:
    first = journal.record(request_for("demo-001", NEWSLETTER))
    again = journal.record(request_for("demo-001", NEWSLETTER, reason_code="other", reason_text="twice"))
    other_scope = journal.record(request_for("demo-001", NEWSLETTER, scope=Scope.ALL))
    other_list = journal.record(request_for("demo-001", PRODUCT_NEWS))
    other_person = journal.record(request_for("demo-002", NEWSLETTER))
    assert again.id == first.id
    assert again.request.reason_code == "too_many"  # the first submission is what we deliver
    assert len({first.id, other_scope.id, other_list.id, other_person.id}) == 4
    assert journal.counts_by_state()["pending"] == 4


def test_same_request_after_delivery_is_a_new_entry(journal: Journal) -> None:
    first = journal.record(request_for("demo-001", NEWSLETTER))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=10, lease_seconds=30, owner="test")
    journal.apply_results(claim.token, [AttemptResult(first.id, State.DELIVERED)])
    later = journal.record(request_for("demo-001", NEWSLETTER))
    assert later.id != first.id
    assert later.state is State.PENDING


def test_concurrent_double_submits_make_one_entry(journal: Journal) -> None:
    ids: list[int] = []
    start = threading.Barrier(6)

    def submit() -> None:
        start.wait()
        ids.append(journal.record(request_for("demo-005", NEWSLETTER)).id)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6
    assert len(set(ids)) == 1
    assert journal.counts_by_state()["pending"] == 1


def test_claims_group_by_business_unit_and_hold_until_their_lease_ends(journal: Journal) -> None:
    parent = [journal.record(request_for(f"demo-00{n}", NEWSLETTER)) for n in range(1, 4)]
    child = journal.record(request_for("child-001", {"job_id": "28001", "mid": "510001001"}))
    assert journal.due_mids() == ["510001000", "510001001"]

    claim = journal.claim_due(mid="510001000", limit=2, lease_seconds=30, owner="w1")
    assert [e.id for e in claim.entries] == [parent[0].id, parent[1].id]
    assert all(e.attempts == 1 and e.claimed_by == claim.token for e in claim.entries)
    rest = journal.claim_due(mid="510001000", limit=50, lease_seconds=30, owner="w2")
    assert [e.id for e in rest.entries] == [parent[2].id]  # the claimed ones are not handed out twice
    assert journal.claim_due(mid="510001000", limit=50, lease_seconds=30, owner="w3").entries == []
    assert journal.due_mids() == ["510001001"]

    # A killed worker's claim: once its lease ends, the entries are due again.
    later = utcnow() + timedelta(seconds=31)
    again = journal.claim_due(mid="510001000", limit=50, lease_seconds=30, owner="w4", now=later)
    assert {e.id for e in again.entries} == {e.id for e in parent}
    assert all(e.attempts == 2 for e in again.entries if e.id != parent[2].id)
    # Their attempts never reported back and may have reached Marketing Cloud: each counts as a possible
    # duplicate, since this claim sends them again.
    assert [e.duplicates for e in again.entries] == [1, 1, 1]
    assert journal.possible_duplicates() == 3
    assert journal.get(child.id).attempts == 0


def test_a_late_result_of_an_expired_claim_changes_nothing_but_counts_a_duplicate(journal: Journal) -> None:
    entry = journal.record(request_for("demo-001", NEWSLETTER))
    stale = journal.claim_due(mid=NEWSLETTER["mid"], limit=1, lease_seconds=1, owner="slow")
    fresh = journal.claim_due(
        mid=NEWSLETTER["mid"], limit=1, lease_seconds=30, owner="fast", now=utcnow() + timedelta(seconds=2)
    )
    assert [e.id for e in fresh.entries] == [entry.id]

    failed = AttemptResult(entry.id, State.PENDING, next_attempt_at=utcnow(), last_error="x")
    assert journal.apply_results(fresh.token, [failed]) == [entry.id]
    # The slow attempt's answer arrives now: it must not flip the entry, only count the possible repeat.
    assert journal.apply_results(stale.token, [AttemptResult(entry.id, State.DELIVERED)]) == []
    current = journal.get(entry.id)
    assert current.state is State.PENDING
    assert current.duplicates == 1
    assert journal.possible_duplicates() == 1


def test_outcomes_are_stored_with_marketing_clouds_answer(journal: Journal) -> None:
    ok = journal.record(request_for("demo-001", NEWSLETTER))
    bad = journal.record(request_for("nobody", NEWSLETTER))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=10, lease_seconds=30, owner="w")
    journal.apply_results(
        claim.token,
        [
            AttemptResult(
                ok.id, State.DELIVERED, sfmc_request_id="req-1", sfmc_status_message="Event posted"
            ),
            AttemptResult(
                bad.id, State.REJECTED, last_error="not found", error_code=400, sfmc_request_id="req-1"
            ),
        ],
    )
    delivered, rejected = journal.get(ok.id), journal.get(bad.id)
    assert (delivered.state, delivered.sfmc_request_id, delivered.sfmc_status_message) == (
        State.DELIVERED,
        "req-1",
        "Event posted",
    )
    assert (rejected.state, rejected.error_code, rejected.last_error) == (State.REJECTED, 400, "not found")
    assert delivered.finished_at is not None and delivered.claimed_by is None
    assert journal.counts_by_state() == {"pending": 0, "delivered": 1, "already": 0, "rejected": 1, "dead": 0}
    assert journal.oldest_pending_age() is None


def test_oldest_pending_age_tracks_the_oldest_entry(journal: Journal) -> None:
    now = utcnow()
    journal.record(request_for("demo-001", NEWSLETTER), now=now - timedelta(minutes=10))
    journal.record(request_for("demo-002", NEWSLETTER), now=now - timedelta(minutes=1))
    assert journal.oldest_pending_age(now=now) == pytest.approx(600, abs=1)


def test_abandoned_last_attempt_is_buried_not_forgotten(journal: Journal) -> None:
    entry = journal.record(request_for("demo-001", NEWSLETTER))
    for _ in range(2):  # two attempts, each by a worker that died without reporting
        journal.claim_due(mid=NEWSLETTER["mid"], limit=1, lease_seconds=0.01, owner="doomed")
        assert journal.bury_abandoned(max_attempts=2, now=utcnow() - timedelta(seconds=1)) == 0
        threading.Event().wait(0.02)
    assert journal.bury_abandoned(max_attempts=2) == 1
    dead = journal.get(entry.id)
    assert dead.state is State.DEAD
    assert "never reported back" in dead.last_error


def test_purge_drops_personal_data_of_old_finished_entries_only(journal: Journal) -> None:
    old = journal.record(request_for("demo-001", NEWSLETTER, email="demo001@example.com", reason_text="x"))
    pending = journal.record(request_for("demo-002", NEWSLETTER))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=1, lease_seconds=30, owner="w")
    journal.apply_results(claim.token, [AttemptResult(old.id, State.DELIVERED)])

    assert journal.purge(older_than_days=30) == 0  # finished just now: kept
    later = utcnow() + timedelta(days=31)
    assert journal.purge(older_than_days=30, now=later) == 1
    assert journal.purge(older_than_days=30, now=later) == 0  # idempotent

    purged = journal.get(old.id)
    assert purged.request.recipient.subscriber_key is None
    assert purged.request.recipient.email is None
    assert purged.request.reason_text is None
    assert purged.purged_at is not None
    assert (purged.state, purged.request.recipient.job_id, purged.request.reason_code) == (
        State.DELIVERED,
        "18099",
        "too_many",
    )
    assert journal.get(pending.id).request.recipient.subscriber_key == "demo-002"
    assert journal.counts_by_state()["delivered"] == 1


def test_retry_dead_revives_entries_unless_a_pending_twin_exists(journal: Journal) -> None:
    lone = journal.record(request_for("demo-001", NEWSLETTER))
    twin = journal.record(request_for("demo-002", NEWSLETTER))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=2, lease_seconds=30, owner="w")
    journal.apply_results(
        claim.token,
        [AttemptResult(lone.id, State.DEAD, last_error="gave up"), AttemptResult(twin.id, State.DEAD)],
    )
    newer = journal.record(request_for("demo-002", NEWSLETTER))  # the person asked again meanwhile

    assert journal.retry_dead() == (1, 1)
    revived = journal.get(lone.id)
    assert (revived.state, revived.attempts, revived.finished_at) == (State.PENDING, 0, None)
    assert journal.get(twin.id).state is State.DEAD
    assert journal.get(newer.id).state is State.PENDING


@pytest.mark.postgres
def test_record_survives_postgresql_dropping_its_connections(postgres_url: str, tmp_path: Path) -> None:
    import psycopg

    journal = open_journal(postgres_url, tmp_path)
    try:
        first = journal.record(request_for("demo-001", NEWSLETTER))
        # The server ends every session of this database, as a restart or a failover does.
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        second = journal.record(request_for("demo-002", NEWSLETTER))
        assert second.id != first.id
        assert journal.counts_by_state()["pending"] == 2
    finally:
        journal.close()


def test_record_claimed_commits_the_entry_and_its_inline_claim_together(
    journal: Journal, database_url: str, tmp_path: Path
) -> None:
    entry, claim = journal.record_claimed(
        request_for("demo-006", NEWSLETTER), owner="web:inline", lease_seconds=60
    )
    assert claim is not None and [e.id for e in claim.entries] == [entry.id]
    other = open_journal(database_url, tmp_path)  # another process: the commit is visible there
    try:
        seen = other.get(entry.id)
        assert seen is not None
        assert (seen.state, seen.claimed_by, seen.attempts) == (State.PENDING, claim.token, 1)
        # The worker leaves an entry alone while the inline attempt holds it.
        assert other.claim_due(mid=NEWSLETTER["mid"], limit=50, lease_seconds=10, owner="w").entries == []
        # A double submit meanwhile finds the pending twin, already held: no second claim, no second entry.
        twin, second_claim = other.record_claimed(
            request_for("demo-006", NEWSLETTER), owner="web:inline", lease_seconds=60
        )
        assert (twin.id, second_claim) == (entry.id, None)
        # An attempt that never started gives its claim back: the worker may take the entry at once.
        assert journal.release(claim) == 1
        released = other.get(entry.id)
        assert released is not None and (released.claimed_by, released.attempts) == (None, 0)
        taken = other.claim_due(mid=NEWSLETTER["mid"], limit=50, lease_seconds=10, owner="w")
        assert [e.id for e in taken.entries] == [entry.id]
        assert journal.release(claim) == 0  # a claim that is no longer ours releases nothing
    finally:
        other.close()


def test_record_claimed_takes_an_unheld_pending_twin(
    journal: Journal, database_url: str, tmp_path: Path
) -> None:
    first = journal.record(request_for("demo-007", NEWSLETTER))
    entry, claim = journal.record_claimed(
        request_for("demo-007", NEWSLETTER), owner="web:inline", lease_seconds=60
    )
    assert entry.id == first.id
    assert claim is not None and entry.claimed_by == claim.token and entry.attempts == 1
    assert _committed(database_url, tmp_path, first.id) == entry  # the record and the claim were committed
    assert journal.counts_by_state()["pending"] == 1


def test_sqlite_writers_of_many_threads_and_processes_all_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    script = (
        "import sys\n"
        "from app.journal.store import open_journal\n"
        "from app.identity import Recipient\n"
        "from app.journal.models import UnsubscribeRequest\n"
        "j = open_journal(sys.argv[1], sys.argv[2])\n"
        "for n in range(60):\n"
        "    who = Recipient(subscriber_key=f'p{sys.argv[3]}-{n}', job_id='1', mid='1')\n"
        "    j.record(UnsubscribeRequest(who))\n"
    )
    journal = open_journal(url, tmp_path)
    try:
        children = [
            subprocess.Popen([sys.executable, "-c", script, url, str(tmp_path), str(n)], cwd=ROOT)
            for n in range(2)
        ]

        def write(n: int) -> None:
            for i in range(30):
                journal.record(request_for(f"t{n}-{i}", NEWSLETTER))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [child.wait(timeout=60) for child in children] == [0, 0]
        assert journal.counts_by_state()["pending"] == 6 * 30 + 2 * 60
    finally:
        journal.close()


def test_a_writer_killed_mid_transaction_does_not_stall_the_sqlite_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'killed.sqlite3'}"
    journal = open_journal(url, tmp_path)
    child = hold_journal_writer(url, tmp_path, seconds=60)
    try:
        done = threading.Event()
        recorder = threading.Thread(
            target=lambda: (journal.record(request_for("demo-008", NEWSLETTER)), done.set())
        )
        recorder.start()
        assert not done.wait(0.3)  # the other process holds the write turn
        child.kill()  # SIGKILL: no cleanup in the child; the kernel drops its locks
        assert done.wait(5)
        recorder.join()
        assert journal.counts_by_state()["pending"] == 1
    finally:
        child.kill()
        child.wait()
        journal.close()


def test_workers_opening_a_new_sqlite_journal_together_all_start(tmp_path: Path) -> None:
    """gunicorn starts its workers at once; each opens (and the first creates) the journal file."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    script = (
        "import sys, time\n"
        "from app.journal.store import open_journal\n"
        "from app.identity import Recipient\n"
        "from app.journal.models import UnsubscribeRequest\n"
        "time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # all at the same moment\n"
        "j = open_journal(sys.argv[1], sys.argv[2])\n"
        "who = Recipient(subscriber_key=f'start-{sys.argv[4]}', job_id='1', mid='1')\n"
        "j.record(UnsubscribeRequest(who))\n"
    )
    start_at = str(time.time() + 1.5)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(tmp_path), start_at, str(n)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    errors = [child.communicate(timeout=60)[1] for child in children]
    assert [child.returncode for child in children] == [0] * 6, errors
    journal = open_journal(url, tmp_path)
    try:
        assert journal.counts_by_state()["pending"] == 6
    finally:
        journal.close()


def test_many_writing_threads_leave_a_few_connections_open(journal: Journal) -> None:
    """Connections are lent per transaction: 24 threads writing together leave at most the pool's few
    idle connections behind (a SQLite one's memory: docs/benchmarks.md; PostgreSQL: a server process
    each); nothing is lost."""
    barrier = threading.Barrier(24)

    def write(thread: int) -> None:
        barrier.wait()
        for n in range(5):
            journal.record(request_for(f"pool-{thread}-{n}", NEWSLETTER))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = {entry.request.recipient.subscriber_key for entry in journal.entries()}
    assert {f"pool-{t}-{n}" for t in range(24) for n in range(5)} <= keys
    limit = journal.idle_connections if journal.dialect == "sqlite" else journal.pool_max_size
    assert journal.open_connections() <= limit


def test_the_insert_names_the_request_columns_in_their_order() -> None:
    """The insert's SQL is written out; its columns must stay in step with the request's value list."""
    match = re.search(r"INSERT INTO journal_entries \(([^)]*)\) VALUES \(([^)]*)\)", queries.INSERT_PENDING)
    assert match is not None
    columns = [name.strip() for name in match[1].split(",")]
    assert tuple(columns[: len(REQUEST_COLUMNS)]) == REQUEST_COLUMNS
    assert len(match[2].split(",")) == len(columns)
