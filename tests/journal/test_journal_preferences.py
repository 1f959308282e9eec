"""Preference changes in the journal's storage, on SQLite and PostgreSQL: what a change is stored as, which
double submits collapse, and the order a person's entries are handed out in (head of line).

Nothing is sent here: claims and outcomes are applied by hand, so the order the journal hands entries out
in is seen directly (the delivery tests see it from the emulator's side).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from journal_helpers import NEWSLETTER, request_for

from app.identity import Recipient
from app.journal.models import Action, Scope, State, UnsubscribeRequest
from app.journal.store import Journal, open_journal
from app.journal.values import AttemptResult, utcnow

MID = NEWSLETTER["mid"]


def change(key: str, action: Action, list_id: str, **fields: object) -> UnsubscribeRequest:
    """A list change of the manage page, from a link to the newsletter."""
    return UnsubscribeRequest(
        Recipient(subscriber_key=key, **NEWSLETTER), action=action, target_list_id=list_id, **fields
    )


def off(key: str, list_id: str = "17920") -> UnsubscribeRequest:
    return change(key, Action.LIST_UNSUBSCRIBE, list_id)


def on(key: str, list_id: str = "17920") -> UnsubscribeRequest:
    return change(key, Action.LIST_RESUBSCRIBE, list_id)


@pytest.fixture
def journal(database_url: str, tmp_path: Path) -> Iterator[Journal]:
    journal = open_journal(database_url, tmp_path)
    yield journal
    journal.close()


def finish(journal: Journal, token: str, *entry_ids: int, state: State = State.DELIVERED) -> None:
    assert journal.apply_results(token, [AttemptResult(i, state) for i in entry_ids]) == list(entry_ids)


def claim_ids(journal: Journal, **kwargs: object) -> tuple[str, list[int]]:
    claim = journal.claim_due(mid=MID, limit=50, lease_seconds=30, owner="w", **kwargs)
    return claim.token, [entry.id for entry in claim.entries]


# -- what is stored -----------------------------------------------------------------------------------


def test_a_list_change_is_stored_with_its_action_target_and_label(
    journal: Journal, database_url: str, tmp_path: Path
) -> None:
    request = change(
        "demo-001", Action.LIST_UNSUBSCRIBE, "17920", reason_code="moved", reason_label="Moved abroad"
    )
    entry = journal.record(request)
    other = open_journal(database_url, tmp_path)  # another process reads what was committed
    try:
        seen = other.get(entry.id)
    finally:
        other.close()
    assert seen is not None and seen.request == request == entry.request
    assert (seen.request.action, seen.request.target_list_id, seen.request.reason_label) == (
        Action.LIST_UNSUBSCRIBE,
        "17920",
        "Moved abroad",
    )
    assert seen.request.recipient.list_id == "17914"  # the email's own list stays as the link said


def test_text_no_database_can_hold_is_removed_from_the_new_columns_too(journal: Journal) -> None:
    entry = journal.record(
        change("demo-001", Action.LIST_RESUBSCRIBE, "179\x0020", reason_label="Mo\x00ved\ud800 \x1bon")
    )
    assert (entry.request.target_list_id, entry.request.reason_label) == ("17920", "Moved on")
    # The key is computed from what is stored: the clean request is the same entry.
    assert journal.record(change("demo-001", Action.LIST_RESUBSCRIBE, "17920")).id == entry.id


def test_a_list_change_without_its_list_is_refused_and_a_save_is_all_or_nothing(journal: Journal) -> None:
    broken = UnsubscribeRequest(
        Recipient(subscriber_key="demo-001", **NEWSLETTER), action=Action.LIST_RESUBSCRIBE
    )
    with pytest.raises(ValueError, match="target_list_id"):
        journal.record_many([off("demo-001"), broken])
    assert journal.entries() == []  # the first change of that save was not committed either


# -- double submits and sequences of changes ----------------------------------------------------------


def test_opposite_changes_are_each_kept_and_only_a_repeat_of_the_latest_collapses(journal: Journal) -> None:
    first = journal.record(off("demo-001"))
    second = journal.record(on("demo-001"))
    third = journal.record(off("demo-001"))
    assert len({first.id, second.id, third.id}) == 3  # all pending, all kept, in order
    assert journal.record(off("demo-001")).id == third.id  # a double click of the latest
    fourth = journal.record(on("demo-001"))
    assert fourth.id not in {first.id, second.id, third.id}
    # Another list, another person: their own lines.
    assert journal.record(off("demo-001", "17930")).id != first.id
    assert journal.record(off("demo-002")).id != first.id
    assert journal.counts_by_state()["pending"] == 6


def test_the_emails_own_list_and_a_change_of_that_list_are_one_subscription(journal: Journal) -> None:
    """Unsubscribe from the email's list, undo, unsubscribe again, all while pending: three entries (a
    key of person + list alone would fold the third into the first, and the undo would win)."""
    first = journal.record(request_for("demo-001", NEWSLETTER))
    undo = journal.record(on("demo-001", NEWSLETTER["list_id"]))
    again = journal.record(request_for("demo-001", NEWSLETTER))
    assert [first.request.action, undo.request.action, again.request.action] == [
        Action.UNSUBSCRIBE,
        Action.LIST_RESUBSCRIBE,
        Action.UNSUBSCRIBE,
    ]
    assert len({first.id, undo.id, again.id}) == 3
    # "All email" is a subscription of its own: it does not break the list's sequence.
    journal.record(request_for("demo-001", NEWSLETTER, scope=Scope.ALL))
    assert journal.record(request_for("demo-001", NEWSLETTER)).id == again.id


def test_a_double_submitted_save_is_the_same_entries(journal: Journal) -> None:
    save = [off("demo-001", "17920"), on("demo-001", "17930"), request_for("demo-001", NEWSLETTER)]
    first = journal.record_many(save)
    again = journal.record_many(save)
    assert [e.id for e in again] == [e.id for e in first]
    assert len({e.id for e in first}) == 3


def test_concurrent_double_submits_of_a_change_make_one_entry(journal: Journal) -> None:
    journal.record(off("demo-005"))
    journal.record(on("demo-005"))
    ids: list[int] = []
    start = threading.Barrier(6)

    def submit() -> None:
        start.wait()
        ids.append(journal.record(off("demo-005")).id)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert journal.counts_by_state()["pending"] == 3


# -- head of line -------------------------------------------------------------------------------------


def test_claims_hand_out_one_entry_per_person_oldest_first(journal: Journal) -> None:
    p1 = journal.record(request_for("demo-001", NEWSLETTER))
    p2 = journal.record(off("demo-001"))
    p3 = journal.record(on("demo-001"))
    q1 = journal.record(off("demo-002"))
    assert journal.due_mids() == [MID]
    token, ids = claim_ids(journal)
    assert ids == [p1.id, q1.id]  # demo-001's later changes wait behind its first
    assert claim_ids(journal)[1] == []  # not even another worker gets them meanwhile
    assert journal.due_mids() == []
    finish(journal, token, p1.id, q1.id)
    token, ids = claim_ids(journal)
    assert ids == [p2.id]
    finish(journal, token, p2.id, state=State.REJECTED)  # a finished entry, whatever its end, lets go
    assert claim_ids(journal)[1] == [p3.id]


def test_an_entry_waits_while_its_older_one_backs_off_or_is_held(journal: Journal) -> None:
    older = journal.record(off("demo-001"))
    newer = journal.record(on("demo-001"))
    token, ids = claim_ids(journal)
    assert ids == [older.id]
    retry_at = utcnow() + timedelta(hours=1)
    journal.apply_results(token, [AttemptResult(older.id, State.PENDING, next_attempt_at=retry_at)])
    # The newer one is due by its own time, but its person's older change is still pending.
    assert claim_ids(journal)[1] == []
    assert journal.due_mids() == []
    # An older entry whose claim ran out (its worker was killed) is handed out again, before the newer.
    later = retry_at + timedelta(seconds=1)
    stale = journal.claim_due(mid=MID, limit=50, lease_seconds=1, owner="doomed", now=later)
    assert [e.id for e in stale.entries] == [older.id]
    again = journal.claim_due(
        mid=MID, limit=50, lease_seconds=30, owner="w", now=later + timedelta(seconds=2)
    )
    assert [e.id for e in again.entries] == [older.id]
    assert again.entries[0].duplicates == 1
    assert journal.get(newer.id).attempts == 0


def test_an_inline_claim_takes_the_persons_older_entries_first(journal: Journal) -> None:
    older = journal.record(off("demo-001"))
    token, _ = claim_ids(journal)
    journal.apply_results(
        token, [AttemptResult(older.id, State.PENDING, next_attempt_at=utcnow() + timedelta(hours=1))]
    )
    other_person = journal.record(off("demo-002"))
    entries, claim = journal.record_claimed_many(
        [on("demo-001"), off("demo-001", "17930")], owner="web:inline", lease_seconds=60
    )
    assert claim is not None
    # The person is waiting: their older change goes first, its backoff ignored; nobody else's.
    assert [e.id for e in claim.entries] == [older.id, *(e.id for e in entries)]
    assert other_person.id not in {e.id for e in claim.entries}
    assert all(e.claimed_by == claim.token for e in entries)


def test_an_inline_claim_takes_nothing_while_an_older_entry_is_being_sent(journal: Journal) -> None:
    older = journal.record(off("demo-001"))
    _, held = claim_ids(journal)
    assert held == [older.id]  # a worker is sending it right now
    entry, claim = journal.record_claimed(on("demo-001"), owner="web:inline", lease_seconds=60)
    assert claim is None
    assert (entry.state, entry.claimed_by, entry.attempts) == (State.PENDING, None, 0)
    assert claim_ids(journal)[1] == []  # and the worker sends it only once the older one finished


def test_retry_dead_never_sends_a_change_the_person_has_changed_again(journal: Journal) -> None:
    stale = journal.record(off("demo-001"))
    other_list = journal.record(off("demo-001", "17930"))
    token, _ = claim_ids(journal)
    finish(journal, token, stale.id, state=State.DEAD)
    token, _ = claim_ids(journal)
    finish(journal, token, other_list.id, state=State.DEAD)
    journal.record(on("demo-001"))  # the person resubscribed since: the dead unsubscribe is superseded
    assert journal.retry_dead() == (1, 1)
    assert journal.get(stale.id).state is State.DEAD
    assert journal.get(other_list.id).state is State.PENDING


def test_purge_drops_the_person_key_too(journal: Journal, database_url: str) -> None:
    entry = journal.record(off("demo-001"))
    token, _ = claim_ids(journal)
    finish(journal, token, entry.id)
    assert journal.purge(older_than_days=1, now=utcnow() + timedelta(days=2)) == 1
    with journal._transaction(write=False) as cur:
        row = cur.execute(
            "SELECT person_key, dedupe_base, target_key FROM journal_entries WHERE id = ?", (entry.id,)
        ).fetchone()
    assert (row["person_key"], row["dedupe_base"], row["target_key"]) == (None, None, "list:17920")


def test_workers_claiming_at_once_never_have_two_entries_of_one_person_in_flight(
    database_url: str, tmp_path: Path
) -> None:
    """Two journals (as two worker processes: their own connections) claim and settle concurrently; per
    person, entries are sent one at a time and oldest first."""
    setup = open_journal(database_url, tmp_path)
    people = [f"demo-{n:03d}" for n in range(1, 13)]
    order = {key: [setup.record(req).id for req in (off(key), on(key), off(key))] for key in people}
    setup.close()
    sent: list[tuple[str, int, str]] = []
    in_flight: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        journal = open_journal(database_url, tmp_path)
        try:
            idle_rounds = 0
            while idle_rounds < 20:
                claim = journal.claim_due(mid=MID, limit=5, lease_seconds=30, owner=name)
                if not claim.entries:
                    idle_rounds += 1
                    time.sleep(0.01)
                    continue
                idle_rounds = 0
                with lock:
                    for entry in claim.entries:
                        key = entry.request.recipient.subscriber_key or ""
                        if key in in_flight:
                            overlaps.append(key)
                        in_flight[key] = entry.id
                        sent.append((key, entry.id, name))
                time.sleep(0.005)  # the "call"
                with lock:
                    for entry in claim.entries:
                        in_flight.pop(entry.request.recipient.subscriber_key or "", None)
                finish(journal, claim.token, *(entry.id for entry in claim.entries))
        finally:
            journal.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    for key, ids in order.items():
        assert [entry_id for who, entry_id, _ in sent if who == key] == ids
    assert len({name for _, _, name in sent}) == 2  # both took part


def test_posts_and_workers_at_once_send_each_persons_entries_one_claim_at_a_time_in_order(
    database_url: str, tmp_path: Path
) -> None:
    """People post changes (record_claimed_many: an inline claim) while two workers claim; every claim is
    settled a moment later. Per person, no two claims ever hold entries at once, and entries go out in
    the order they were made — on PostgreSQL that needs the per-person lock and the row locks."""
    people = [f"demo-{n:03d}" for n in range(1, 9)]
    log: list[tuple[str, list[int]]] = []  # (person, ids of one claim in the order sent)
    holding: dict[str, str] = {}
    overlaps: list[str] = []
    lock = threading.Lock()

    def hold_and_settle(journal: Journal, token: str, entries: list) -> None:
        by_person: dict[str, list[int]] = {}
        for entry in entries:
            by_person.setdefault(entry.request.recipient.subscriber_key or "", []).append(entry.id)
        with lock:
            for person, ids in by_person.items():
                if person in holding:
                    overlaps.append(person)
                holding[person] = token
                log.append((person, ids))
        time.sleep(0.003)
        with lock:
            for person in by_person:
                holding.pop(person, None)
        finish(journal, token, *(entry.id for entry in entries))

    def poster(key: str) -> None:
        journal = open_journal(database_url, tmp_path)
        try:
            for n in range(12):
                change_ = off(key) if n % 2 == 0 else on(key)
                if n % 3 == 0:  # an import or a POST whose attempt could not start: the workers' work
                    journal.record(change_)
                    continue
                _, claim = journal.record_claimed_many([change_], owner="web:inline", lease_seconds=30)
                if claim is not None:
                    hold_and_settle(journal, claim.token, claim.entries)
        finally:
            journal.close()

    stop = threading.Event()

    def worker() -> None:
        journal = open_journal(database_url, tmp_path)
        try:
            while not stop.is_set():
                claim = journal.claim_due(mid=MID, limit=4, lease_seconds=30, owner="w")
                if claim.entries:
                    hold_and_settle(journal, claim.token, claim.entries)
        finally:
            journal.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    posters = [threading.Thread(target=poster, args=(key,)) for key in people]
    for thread in [*workers, *posters]:
        thread.start()
    for thread in posters:
        thread.join()
    check = open_journal(database_url, tmp_path)
    try:
        wait_for = time.monotonic() + 30
        while check.counts_by_state()["pending"] and time.monotonic() < wait_for:
            time.sleep(0.05)
        made = {
            key: [e.id for e in check.entries() if e.request.recipient.subscriber_key == key]
            for key in people
        }
    finally:
        stop.set()
        for thread in workers:
            thread.join()
        check.close()
    assert overlaps == []
    for key in people:
        sent = [entry_id for person, ids in log if person == key for entry_id in ids]
        assert sent == made[key], key  # each once, oldest first
    assert len(made[people[0]]) == 12
