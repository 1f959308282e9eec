"""`flask journal …` for operators: import, status, export, purge, retry-dead, deliver."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from journal_helpers import NEWSLETTER, PRODUCT_NEWS, request_for, run_cli, worker_env

from app.journal.models import Scope, Source, State
from app.journal.values import AttemptResult, utcnow

HEADER = "subscriber_key,subscriber_id,email,job_id,list_id,batch_id,mid,scope,reason\n"


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["journal", *args], catch_exceptions=False)


def test_import_journals_good_rows_and_reports_bad_ones_by_line(
    app: Flask, emulator: Any, tmp_path: Path
) -> None:
    rows = [
        "demo-014,,,18099,17914,,510001000,list,too_many",  # line 2
        ',1015,,18099,17914,,510001000,all,"Asked by phone,\nsupport ticket 42"',  # lines 3-4
        ",,,18099,17914,,510001000,list,",  # line 5: nobody to unsubscribe
        "demo-016,,,18099,17914,,510001000,everything,",  # line 6: bad scope
        "demo-017,,,18099,17914,,BU-1,list,",  # line 7: mid is not a number
        "demo-018,,,18099,17914,,510001000,list",  # line 8: a value missing
        "demo-019,,not-an-email,18099,17914,,510001000,list,",  # line 9
        "",  # line 10: blank, ignored
        "demo-014,,,18099,17914,,510001000,list,too_many",  # line 11: the same request again
        "demo-020,,demo020@example.com,18100,,,510001000,,not_relevant",  # line 12: scope empty = list
    ]
    source = tmp_path / "support-desk.csv"
    source.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")

    result = invoke(app, "import", str(source))

    assert result.exit_code == 1  # some rows were skipped: automation must notice
    assert "line 5: skipped: needs a subscriber_key, subscriber_id or email" in result.output
    assert "line 6: skipped: scope must be list or all" in result.output
    assert "line 7: skipped: mid must be a number" in result.output
    assert "line 8: skipped: expected 9 values, found 8" in result.output
    assert "line 9: skipped: email is not an email address" in result.output
    assert "line 3" not in result.output and "line 10" not in result.output
    assert (
        "imported 4 row(s) as 3 pending entr(ies) (1 already pending); skipped 5 bad row(s)" in result.output
    )

    journal = app.extensions["journal"]
    entries = {
        entry.request.recipient.subscriber_key or entry.request.recipient.subscriber_id: entry
        for entry in journal.entries()
    }
    assert set(entries) == {"demo-014", "1015", "demo-020"}
    assert all(entry.request.source is Source.IMPORT for entry in entries.values())
    phone = entries["1015"].request
    assert (phone.scope, phone.reason_code, phone.reason_text) == (
        Scope.ALL,
        "other",
        "Asked by phone,\nsupport ticket 42",
    )
    assert entries["demo-020"].request.scope is Scope.LIST

    delivered = invoke(app, "deliver")
    assert delivered.exit_code == 0
    assert "delivered: 1 call(s), 3 entries: delivered 3" in delivered.output
    events = {(event["subscriber_id"], event["list_id"], event["reason"]) for event in emulator.events()}
    assert events == {
        ("1014", "17914", "Profile Center: Too many emails"),
        ("1015", "1000", "Profile Center: Other: Asked by phone, support ticket 42"),
        ("1020", "17920", "Profile Center: Content not relevant"),
    }


@pytest.mark.parametrize(
    "content",
    ["", "key,email\ndemo-001,demo001@example.com\n", HEADER.replace("reason", "reason,extra")],
)
def test_import_refuses_a_file_without_the_expected_header(app: Flask, tmp_path: Path, content: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    result = invoke(app, "import", str(source))
    assert result.exit_code == 1
    assert "line 1: skipped:" in result.output
    assert app.extensions["journal"].counts_by_state()["pending"] == 0


def _journal_with_history(app: Flask) -> Any:
    """One delivered (finished 40 days ago), one rejected, one dead and two pending entries."""
    journal = app.extensions["journal"]
    long_ago = utcnow() - timedelta(days=40)
    delivered = journal.record(request_for("demo-001", NEWSLETTER, email="demo001@example.com"), now=long_ago)
    rejected = journal.record(
        request_for("nobody", NEWSLETTER, reason_code="other", reason_text="=HYPERLINK()")
    )
    dead = journal.record(request_for("demo-003", NEWSLETTER))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=3, lease_seconds=30, owner="test", now=long_ago)
    assert len(claim.entries) == 1
    journal.apply_results(claim.token, [AttemptResult(delivered.id, State.DELIVERED)], now=long_ago)
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=3, lease_seconds=30, owner="test")
    journal.apply_results(
        claim.token,
        [
            AttemptResult(rejected.id, State.REJECTED, last_error="not found", error_code=400),
            AttemptResult(dead.id, State.DEAD, last_error="gave up after 30 attempts"),
        ],
    )
    journal.record(
        request_for("demo-004", PRODUCT_NEWS, email="demo004@example.com"),
        now=utcnow() - timedelta(minutes=5),
    )
    journal.record(request_for("demo-005", PRODUCT_NEWS, email="demo005@example.com"))
    return journal


def test_status_shows_counts_and_the_oldest_pending_age_without_personal_data(app: Flask) -> None:
    _journal_with_history(app)
    text = invoke(app, "status")
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert "pending           2" in lines
    assert "delivered         1" in lines
    assert "rejected          1" in lines
    assert "dead              1" in lines
    assert any(line.startswith("oldest pending: 300 s") or line == "oldest pending: 5 min" for line in lines)
    assert "@" not in text.output and "demo-00" not in text.output

    as_json = json.loads(invoke(app, "status", "--json").output)
    assert as_json["counts"] == {"pending": 2, "delivered": 1, "already": 0, "rejected": 1, "dead": 1}
    assert 295 < as_json["oldest_pending_age_seconds"] < 330
    assert as_json["possible_duplicates"] == 0


def test_export_is_the_full_audit_trail_in_csv_and_jsonl(app: Flask, tmp_path: Path) -> None:
    _journal_with_history(app)
    as_csv = invoke(app, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert len(rows) == 5
    assert [row["state"] for row in rows] == ["delivered", "rejected", "dead", "pending", "pending"]
    assert rows[0]["email"] == "demo001@example.com"  # the audit trail keeps what we were asked, in full
    assert rows[1]["reason_text"] == "'=HYPERLINK()"  # a spreadsheet must not run it as a formula
    assert (rows[1]["error_code"], rows[1]["last_error"]) == ("400", "not found")

    target = tmp_path / "audit.jsonl"
    assert invoke(app, "export", "--format", "jsonl", "--output", str(target)).exit_code == 0
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [record["subscriber_key"] for record in records] == [
        "demo-001",
        "nobody",
        "demo-003",
        "demo-004",
        "demo-005",
    ]
    assert records[1]["reason_text"] == "=HYPERLINK()"
    assert records[0]["finished_at"].startswith(str((utcnow() - timedelta(days=40)).date()))


def test_purge_forgets_people_but_keeps_the_counts(app: Flask) -> None:
    journal = _journal_with_history(app)
    result = invoke(app, "purge", "--older-than", "30")
    assert result.exit_code == 0
    assert "purged personal data of 1 entr(ies) finished more than 30 day(s) ago" in result.output
    rows = list(csv.DictReader(io.StringIO(invoke(app, "export").output)))
    assert (rows[0]["subscriber_key"], rows[0]["email"], rows[0]["state"], rows[0]["job_id"]) == (
        "",
        "",
        "delivered",
        "18099",
    )
    assert rows[0]["purged_at"]
    assert rows[3]["email"] == "demo004@example.com"  # pending: still needed to deliver
    assert journal.counts_by_state() == {"pending": 2, "delivered": 1, "already": 0, "rejected": 1, "dead": 1}
    # Dead entries are promises not yet kept: purged only when the operator says so.
    assert "purged personal data of 1 entr(ies)" in invoke(app, "purge", "--older-than", "0").output
    assert journal.entries(state=State.DEAD)[0].request.recipient.subscriber_key == "demo-003"
    assert "of 1 entr(ies)" in invoke(app, "purge", "--older-than", "0", "--include-dead").output
    assert journal.entries(state=State.DEAD)[0].request.recipient.subscriber_key is None


def test_retry_dead_after_the_cause_is_fixed(app: Flask, emulator: Any) -> None:
    journal = _journal_with_history(app)
    result = invoke(app, "retry-dead")
    assert result.exit_code == 0
    assert "retrying 1 dead entr(ies)" in result.output
    assert journal.counts_by_state()["dead"] == 0
    invoke(app, "deliver")
    assert journal.counts_by_state() == {"pending": 0, "delivered": 4, "already": 0, "rejected": 1, "dead": 0}
    assert {event["subscriber_key"] for event in emulator.events()} == {"demo-003", "demo-004", "demo-005"}


def test_the_cli_runs_as_operators_run_it(
    make_app: Callable[..., Flask], emulator: Any, database_url: str
) -> None:
    journal = make_app().extensions["journal"]
    journal.record(request_for("demo-006", NEWSLETTER, email="demo006@example.com"))
    env = worker_env(emulator, database_url)
    status = run_cli(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout.splitlines()[-1])["counts"]["pending"] == 1
    deliver = run_cli(env, "deliver")
    assert deliver.returncode == 0, deliver.stderr
    assert "delivered: 1 call(s), 1 entries: delivered 1" in deliver.stdout
    assert "demo006@example.com" not in deliver.stdout + deliver.stderr  # logs mask people
    assert journal.counts_by_state()["delivered"] == 1
