"""Benchmark batched delivery: fill a journal with 10,000 entries, drain it against the emulator, compare.

    .venv/bin/python -m bench.delivery [--entries 10000] [--sample 200] [--latency-ms 50] [--database-url URL]

Starts the Marketing Cloud emulator (``python -m emulator``) as a subprocess on a generated data file with
enough subscribers and lists that every entry is a distinct, valid unsubscribe, adds ``--latency-ms`` to every
SOAP call, and drains the journal with the same ``Delivery`` the worker (`flask journal deliver`) uses:
batches of DELIVERY_BATCH_SIZE (50) per Execute call, per business unit. In the same run it delivers
``--sample`` other entries one call per entry (DELIVERY_BATCH_SIZE=1) and prints the speed-up of batching
per entry. The journal is a SQLite file in a temporary folder unless ``--database-url`` names another.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402 - the project root is put on the path first
from app.identity import Recipient  # noqa: E402
from app.journal.delivery import Delivery  # noqa: E402
from app.journal.models import Scope, Source, UnsubscribeRequest  # noqa: E402
from app.journal.store import open_journal  # noqa: E402
from testkit.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, start_emulator  # noqa: E402

PARENT_MID, CHILD_MID = 510009000, 510009001
SUBSCRIBERS_PER_UNIT = 100
BASE_LIST_ID = {PARENT_MID: 40000, CHILD_MID: 50000}
JOB_ID = {PARENT_MID: 48000, CHILD_MID: 58000}


def emulator_data(lists_per_unit: int) -> dict[str, Any]:
    """Two business units, each with 100 subscribers on ``lists_per_unit`` publication lists and one job.

    Few subscribers and many lists keep the emulator's per-request work small (its lookups are linear),
    so the figures measure our client and journal, not the emulator.
    """
    units, subscribers, lists, jobs, sends = [], [], [], [], []
    for mid in (PARENT_MID, CHILD_MID):
        parent = None if mid == PARENT_MID else PARENT_MID
        units.append({"mid": mid, "name": f"Bench unit {mid}", "parent_mid": parent})
        ids = [mid % 1000 * 10000 + 1 + n for n in range(SUBSCRIBERS_PER_UNIT)]
        for sid in ids:
            subscribers.append(
                {
                    "id": sid,
                    "key": f"bench-{sid}",
                    "email": f"bench{sid}@example.com",
                    "status": "Active",
                    "mid": mid,
                }
            )
        members = {str(sid): "Active" for sid in ids}
        for n in range(lists_per_unit):
            kind = "publication"
            lists.append(
                {
                    "id": BASE_LIST_ID[mid] + n,
                    "name": f"Topic {n}",
                    "type": kind,
                    "mid": mid,
                    "members": members,
                }
            )
        jobs.append(
            {
                "id": JOB_ID[mid],
                "name": "Bench send",
                "list_id": BASE_LIST_ID[mid],
                "mid": mid,
                "batches": [0],
            }
        )
        sends += [
            {"subscriber_id": sid, "job_id": JOB_ID[mid], "batch_id": 0, "time": "2026-11-01T09:00:00Z"}
            for sid in ids
        ]
    return {
        "account": {"subscriber_key_permission": True},
        "business_units": units,
        "subscribers": subscribers,
        "lists": lists,
        "jobs": jobs,
        "sends": sends,
    }


def requests_for(first_list: int, count: int) -> list[UnsubscribeRequest]:
    """``count`` distinct requests (person x list), alternating units, from list number ``first_list`` on."""
    made: list[UnsubscribeRequest] = []
    n = 0
    while len(made) < count:
        list_index, person = divmod(n, SUBSCRIBERS_PER_UNIT)
        for mid in (PARENT_MID, CHILD_MID):
            sid = mid % 1000 * 10000 + 1 + person
            made.append(
                UnsubscribeRequest(
                    Recipient(
                        subscriber_key=f"bench-{sid}",
                        job_id=str(JOB_ID[mid]),
                        list_id=str(BASE_LIST_ID[mid] + first_list + list_index),
                        mid=str(mid),
                    ),
                    scope=Scope.LIST,
                    reason_code="too_many",
                    source=Source.IMPORT,
                )
            )
        n += 1
    return made[:count]


def emulator_stats(base_url: str) -> dict[str, int]:
    return requests.get(f"{base_url}/_emulator/state", timeout=30).json()["stats"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200, help="entries delivered one call per entry")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    per_unit = -(-(args.entries + args.sample) // (2 * SUBSCRIBERS_PER_UNIT)) + 1
    data_file = work / "emulator.json"
    data_file.write_text(json.dumps(emulator_data(per_unit)), encoding="utf-8")
    emulator = start_emulator(log_path=work / "emulator.log", data_file=data_file)
    try:
        emulator.faults(latency_ms=args.latency_ms)
        return _run(args, work, emulator.base_url)
    finally:
        emulator.stop()


def _run(args: argparse.Namespace, work: Path, base_url: str) -> int:
    database_url = args.database_url or f"sqlite:///{work / 'journal.sqlite3'}"
    app = create_app(
        {
            "SFMC_AUTH_URL": base_url,
            "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
            "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
            "SFMC_TIMEOUT": "10",
            "LINK_SIGNING_KEYS": "bench-signing-key-0123456789abcdef",
            "DATABASE_URL": database_url,
            "DELIVERY_BATCH_SIZE": "50",
            "LOG_LEVEL": "WARNING",
        }
    )
    journal = app.extensions["journal"]
    batched: Delivery = app.extensions["journal_delivery"]
    started = time.monotonic()
    for request in requests_for(0, args.entries):
        journal.record(request)
    fill_seconds = time.monotonic() - started
    print(
        f"filled the journal ({journal.dialect}) with {args.entries} entries in {fill_seconds:.1f} s",
        flush=True,
    )

    # One call per entry, on a separate journal with other people/lists, timed on a sample.
    single_journal = open_journal(f"sqlite:///{work / 'single.sqlite3'}", work)
    first_sample_list = -(-args.entries // (2 * SUBSCRIBERS_PER_UNIT))
    for request in requests_for(first_sample_list, args.sample):
        single_journal.record(request)
    single = Delivery(single_journal, lambda: batched.client, replace(batched.settings, batch_size=1))
    batched.client.ping()  # the token is fetched once, before either timing starts
    before = emulator_stats(base_url)
    started = time.monotonic()
    single_report = single.deliver_due()
    single_seconds = time.monotonic() - started
    middle = emulator_stats(base_url)
    print(f"one call per entry: {single_report.sent} entries in {single_seconds:.1f} s", flush=True)

    started = time.monotonic()
    batched_report = batched.deliver_due()
    batched_seconds = time.monotonic() - started
    after = emulator_stats(base_url)
    print(f"batched: {batched_report.sent} entries in {batched_seconds:.1f} s", flush=True)

    counts = journal.counts_by_state()
    single_counts = single_journal.counts_by_state()
    batched_calls = after["soap_calls"] - middle["soap_calls"]
    single_calls = middle["soap_calls"] - before["soap_calls"]
    per_call = batched_report.sent / batched_calls
    batched_rate = batched_report.sent / batched_seconds
    single_rate = single_report.sent / single_seconds
    speed_up = batched_rate / single_rate
    ok = (
        counts["delivered"] == args.entries
        and single_counts["delivered"] == args.sample
        and after["requests_executed"] - before["requests_executed"] == args.entries + args.sample
    )
    single_journal.close()
    journal.close()

    print()
    print(f"emulator latency per SOAP call : {args.latency_ms} ms")
    print(f"journal                        : {journal.dialect}, {args.entries} entries")
    print(f"batched delivery               : {batched_report.sent} entries in {batched_seconds:.2f} s")
    print(f"SOAP calls (batched)           : {batched_calls}")
    print(f"entries per SOAP call          : {per_call:.1f}")
    print(f"batched throughput             : {batched_rate:.0f} entries/s")
    print(f"one call per entry (sample)    : {single_report.sent} entries in {single_seconds:.2f} s")
    print(f"SOAP calls (one per entry)     : {single_calls}")
    print(f"one-per-entry throughput       : {single_rate:.1f} entries/s")
    print(f"speed-up of batching per entry : {speed_up:.1f}x (target >= 20x)")
    print(f"every entry delivered          : {'yes' if ok else 'NO'} ({counts}, sample {single_counts})")
    return 0 if ok and speed_up >= 20 else 1


if __name__ == "__main__":
    sys.exit(main())
