"""The soak's figures and its verdict: one function that says why a run failed, for the bench and the tests.

``bench.soak`` prints ``SoakReport.lines()`` and exits 1 when ``verdict(report)`` lists anything;
``tests/soak/test_short_soak.py`` asserts the same list is empty, and ``tests/soak/test_soak_verdict.py``
feeds it broken runs to prove that every gate can fail.

How a 5xx is judged. The only 5xx a run may contain is a clear 503 "try again" page (the app could not
be sure of its journal and says so) for a request the journal already held. Whether it held it is read
from the journal itself after the run (``flask journal export``): a person's request counts as journaled
at the moment of a 5xx when the journal has an entry for that person (SubscriberKey, JobID) whose
``created_at`` is no later than the moment the 5xx arrived. One client thread serves one person at a time
and waits before pressing again, so an entry created by a *later* retry is never mistaken for it.

How re-executions are judged. ``requests_executed`` (emulator) minus the people Marketing Cloud
unsubscribed is the number of LogUnsubEvent requests it executed again for someone already done. A call
answered after our timeout (the emulator's ``timeout`` fault) must be retried and is executed twice; the
journal counts every such retry as a *possible duplicate*. A re-execution beyond the journal's possible
duplicates is one the app did not know it made (a hidden retry, two attempts holding one entry), and fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench._soak_clients import MAX_TRIES, ServerError


@dataclass
class ServerErrorFigures:
    """The 5xx the clients saw, split by what the journal knew when each arrived."""

    seen: int = 0
    journaled: int = 0  # a clear 503 "try again" for a request the journal held: allowed
    unjournaled: int = 0  # the journal had nothing for that person yet: a request the app dropped
    journaled_not_clear: int = 0  # journaled, but the page was not a clear 503 "try again"
    people: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def judge_server_errors(
    errors: Iterable[ServerError], first_journaled: Mapping[int, float]
) -> ServerErrorFigures:
    """Split ``errors`` by ``first_journaled`` (person -> wall-clock time of their earliest entry)."""
    figures = ServerErrorFigures()
    statuses: Counter = Counter()
    people: set[int] = set()
    for error in errors:
        figures.seen += 1
        statuses[str(error.status)] += 1
        people.add(error.person)
        created = first_journaled.get(error.person)
        if created is None or created > error.at:
            figures.unjournaled += 1
        elif error.clear_try_again:
            figures.journaled += 1
        else:
            figures.journaled_not_clear += 1
    figures.people = len(people)
    figures.statuses = dict(statuses)
    return figures


def first_journaled(rows: Iterable[Mapping[str, Any]], person_of: Mapping[str, int]) -> dict[int, float]:
    """Person -> POSIX time of their earliest journal entry, from ``journal export --format jsonl`` rows;
    ``person_of`` maps a SubscriberKey to the person's index."""
    first: dict[int, float] = {}
    for row in rows:
        person = person_of.get(str(row.get("subscriber_key")))
        if person is None:
            continue
        stamp = datetime.fromisoformat(str(row["created_at"]))
        created = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()  # the journal's UTC
        first[person] = min(created, first.get(person, created))
    return first


@dataclass(frozen=True)
class MarketingCloudFigures:
    """What Marketing Cloud (the emulator) holds after the drain."""

    events: Counter  # (SubscriberKey, JobID) -> UnsubEvents
    master_unsubscribed: frozenset[str]  # SubscriberKeys with status Unsubscribed
    list_unsubscribed: frozenset[str]  # SubscriberKeys Unsubscribed on the soak's list
    requests_executed: int
    faults_by_kind: dict[str, int]

    @property
    def people_unsubscribed(self) -> int:
        return len(self.master_unsubscribed | self.list_unsubscribed)

    @property
    def re_executions(self) -> int:
        return self.requests_executed - self.people_unsubscribed

    @property
    def duplicate_events(self) -> int:
        return sum(count - 1 for count in self.events.values() if count > 1)


def marketing_cloud_figures(state: Mapping[str, Any], list_id: str) -> MarketingCloudFigures:
    """Read ``GET /_emulator/state``."""
    keys = {str(s["id"]): str(s["key"]) for s in state.get("subscribers", [])}
    members: dict[str, str] = {}
    for mailing_list in state.get("lists", []):
        if str(mailing_list.get("id")) == list_id:
            members = mailing_list.get("members", {})
    return MarketingCloudFigures(
        events=Counter(
            (str(event.get("subscriber_key")), str(event.get("job_id"))) for event in state.get("events", [])
        ),
        master_unsubscribed=frozenset(
            str(s["key"]) for s in state.get("subscribers", []) if s.get("status") == "Unsubscribed"
        ),
        list_unsubscribed=frozenset(
            keys[sid] for sid, status in members.items() if status == "Unsubscribed" and sid in keys
        ),
        requests_executed=int(state.get("stats", {}).get("requests_executed", 0)),
        faults_by_kind={str(k): int(v) for k, v in state.get("faults_injected_by_kind", {}).items()},
    )


@dataclass
class SoakReport:
    """The figures the soak prints, and what was asked of the run (kills, drops, faults)."""

    db: str
    requests: int
    accepted: int
    delivered: int
    lost: int
    server_errors: ServerErrorFigures
    retries_after_5xx: int
    connection_errors: int
    rate_limited: int
    refused: dict[str, int]
    given_up: int
    kills_asked: int
    app_kills: int
    worker_kills: int
    died_by_themselves: dict[str, int]
    drops_asked: int
    drops_done: int
    backends_terminated: int
    faults_asked: list[str]
    fault_rate_asked: float
    soap_calls: int  # SOAP calls while the faults were on (the load)
    faults_by_kind: dict[str, int]
    journal_states: dict[str, int]
    possible_duplicates: int
    re_executions: int
    duplicate_events: int
    pages: dict[str, int]
    load_seconds: float = 0.0
    drain_seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    lost_examples: list[str] = field(default_factory=list)
    sabotage: float = 0.0

    def lines(self) -> list[str]:
        errors = self.server_errors
        pending = {k: v for k, v in self.journal_states.items() if k in ("pending", "rejected", "dead")}
        return [
            f"database                 {self.db}"
            + (
                f"   (SABOTAGED: {self.sabotage:.0%} of POSTs answered 503 unforwarded)"
                if self.sabotage
                else ""
            ),
            f"POSTs planned            {self.requests}",
            f"accepted (2xx page)      {self.accepted}   pages: {dict(sorted(self.pages.items()))}",
            f"delivered (in MC)        {self.delivered}",
            f"lost                     {self.lost}" + (f"   e.g. {self.lost_examples}" if self.lost else ""),
            f"5xx seen by clients      {errors.seen}   {errors.statuses} from {errors.people} people, "
            f"who pressed again {self.retries_after_5xx} times",
            f"  journaled (clear 503)  {errors.journaled}",
            f"  journaled, not a clear 503 'try again' page {errors.journaled_not_clear}",
            f"  UNJOURNALED            {errors.unjournaled}",
            f"refused (4xx but 429)    {sum(self.refused.values())}   {self.refused}",
            f"given up after {MAX_TRIES} tries {self.given_up}",
            f"connection errors        {self.connection_errors}   (while the app was killed; retried)",
            f"429 (retried)            {self.rate_limited}",
            f"SIGKILLs app / worker    {self.app_kills} / {self.worker_kills}   "
            f"(asked {self.kills_asked} each)",
            f"died by themselves       {sum(self.died_by_themselves.values())}   {self.died_by_themselves}",
            f"DB connection drops      {self.drops_done} of {self.drops_asked} asked, "
            f"{self.backends_terminated} backends ended",
            f"faults injected by MC    {sum(self.faults_by_kind.values())} in {self.soap_calls} calls   "
            f"{dict(sorted(self.faults_by_kind.items()))}",
            f"re-executions in MC      {self.re_executions}   (journal: {self.possible_duplicates} possible "
            "duplicates: retries of a call that may have arrived)",
            f"duplicate UnsubEvents    {self.duplicate_events}",
            f"journal states           {self.journal_states}"
            + (f"   NOT DRAINED: {pending}" if any(pending.values()) else ""),
            f"client latency p50/p99   {self.p50_ms:.0f} ms / {self.p99_ms:.0f} ms",
            f"load / drain time        {self.load_seconds:.0f} s / {self.drain_seconds:.0f} s",
        ]


def verdict(report: SoakReport) -> list[str]:
    """Every reason the run failed; empty when it passed. The same gates for ``bench.soak`` and the test."""
    failures: list[str] = []
    errors = report.server_errors
    if report.accepted == 0:
        failures.append("no POST was accepted at all")
    if report.lost:
        failures.append(f"{report.lost} accepted unsubscribes are not in Marketing Cloud (lost)")
    if errors.unjournaled:
        failures.append(f"{errors.unjournaled} 5xx answers to requests the journal did not hold")
    if errors.journaled_not_clear:
        failures.append(
            f"{errors.journaled_not_clear} 5xx answers that were not a clear 503 'try again' page"
        )
    if report.refused:
        failures.append(f"{sum(report.refused.values())} people refused with a 4xx: {report.refused}")
    if report.given_up:
        failures.append(f"{report.given_up} people gave up after {MAX_TRIES} tries")
    for state in ("pending", "rejected", "dead"):
        if report.journal_states.get(state, 0):
            failures.append(f"{report.journal_states[state]} journal entries {state} after the drain")
    if report.app_kills < report.kills_asked or report.worker_kills < report.kills_asked:
        failures.append(
            f"fewer kills than asked: app {report.app_kills}, worker {report.worker_kills} of "
            f"{report.kills_asked} each"
        )
    if report.died_by_themselves:
        failures.append(f"processes died without being killed: {report.died_by_themselves}")
    if report.drops_done < report.drops_asked:
        failures.append(f"fewer connection drops than asked: {report.drops_done} of {report.drops_asked}")
    injected = sum(report.faults_by_kind.values())
    if injected < report.fault_rate_asked * report.soap_calls / 2:
        failures.append(
            f"fewer faults than asked: {injected} of {report.soap_calls} SOAP calls, "
            f"asked {report.fault_rate_asked:.0%}"
        )
    missing = [kind for kind in report.faults_asked if not report.faults_by_kind.get(kind)]
    if missing:
        failures.append(f"faults asked but never injected: {', '.join(missing)}")
    if report.re_executions > report.possible_duplicates:
        failures.append(
            f"{report.re_executions} re-executions in Marketing Cloud, but the journal counted only "
            f"{report.possible_duplicates} possible duplicates"
        )
    if report.duplicate_events:
        failures.append(f"{report.duplicate_events} duplicate UnsubEvents in Marketing Cloud")
    return failures
