"""`flask journal …` shows preference changes: the export's action and target list, `list`, `status`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Flask
from journal_helpers import NEWSLETTER, request_for

from app.identity import Recipient
from app.journal.models import Action, Scope, State, UnsubscribeRequest
from app.journal.values import AttemptResult


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["journal", *args], catch_exceptions=False)


def a_save(app: Flask) -> list[Any]:
    """demo-001 unsubscribes from the email's list, leaves Product news, comes back to Events; demo-002
    unsubscribes from all email. The first is delivered, the rest pending."""
    who = Recipient(subscriber_key="demo-001", email="demo001@example.com", **NEWSLETTER)
    journal = app.extensions["journal"]
    entries = journal.record_many(
        [
            UnsubscribeRequest(who, reason_code="too_many"),
            UnsubscribeRequest(who, action=Action.LIST_UNSUBSCRIBE, target_list_id="17920"),
            UnsubscribeRequest(
                who,
                action=Action.LIST_RESUBSCRIBE,
                target_list_id="17930",
                reason_code="club",
                reason_label="=Club member",
            ),
        ]
    )
    entries.append(journal.record(request_for("demo-002", NEWSLETTER, scope=Scope.ALL)))
    claim = journal.claim_due(mid=NEWSLETTER["mid"], limit=1, lease_seconds=30, owner="test")
    journal.apply_results(claim.token, [AttemptResult(entries[0].id, State.DELIVERED)])
    return entries


def test_the_export_shows_each_changes_action_and_target_list(app: Flask) -> None:
    a_save(app)
    rows = list(csv.DictReader(io.StringIO(invoke(app, "export").output)))
    assert [(r["action"], r["target_list_id"], r["list_id"], r["scope"]) for r in rows] == [
        ("unsubscribe", "", "17914", "list"),
        ("list_unsubscribe", "17920", "17914", "list"),
        ("list_resubscribe", "17930", "17914", "list"),
        ("unsubscribe", "", "17914", "all"),
    ]
    assert rows[2]["reason_label"] == "'=Club member"  # a spreadsheet must not run it
    assert [r["state"] for r in rows] == ["delivered", "pending", "pending", "pending"]
    records = [json.loads(line) for line in invoke(app, "export", "--format", "jsonl").output.splitlines()]
    assert [(r["action"], r["target_list_id"], r["reason_label"]) for r in records][1:3] == [
        ("list_unsubscribe", "17920", None),
        ("list_resubscribe", "17930", "=Club member"),
    ]


def test_list_shows_what_each_entry_changes_without_personal_data(app: Flask) -> None:
    entries = a_save(app)
    output = invoke(app, "list").output
    lines = output.splitlines()
    assert lines[0].split() == ["id", "state", "action", "list", "mid", "tries", "created"]
    assert [line.split()[:4] for line in lines[1:]] == [
        [str(entries[0].id), "delivered", "unsubscribe", "17914"],
        [str(entries[1].id), "pending", "list_unsubscribe", "17920"],
        [str(entries[2].id), "pending", "list_resubscribe", "17930"],
        [str(entries[3].id), "pending", "unsubscribe", "all"],
    ]
    assert "demo-00" not in output and "@" not in output
    pending = invoke(app, "list", "--state", "pending", "--limit", "1").output.splitlines()
    assert [line.split()[0] for line in pending[1:]] == [str(entries[1].id)]
    after = invoke(app, "list", "--after", str(entries[2].id)).output.splitlines()
    assert [line.split()[0] for line in after[1:]] == [str(entries[3].id)]


def test_status_counts_entries_per_action(app: Flask) -> None:
    a_save(app)
    lines = invoke(app, "status").output.splitlines()
    assert "unsubscribe: pending 1, delivered 1" in lines
    assert "list_unsubscribe: pending 1" in lines
    assert "list_resubscribe: pending 1" in lines
    as_json = json.loads(invoke(app, "status", "--json").output)
    assert as_json["actions"]["list_resubscribe"]["pending"] == 1
    assert as_json["actions"]["unsubscribe"] == {
        "pending": 1,
        "delivered": 1,
        "already": 0,
        "rejected": 0,
        "dead": 0,
    }
