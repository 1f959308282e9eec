"""``flask sfmc lists`` and ``flask sfmc memberships`` as ops run them: a real process, answers shaped as
PROTOCOL.md describes them from a loopback server (canned_sfmc) and from the emulator; never the token."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from canned_sfmc import Call, CannedMarketingCloud, a_list, a_membership, fault, retrieve_answer
from lxml import etree

from testkit.cli import flask_cli
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, TEST_SIGNING_KEY, EmulatorServer

P = "{http://exacttarget.com/wsdl/partnerAPI}"
CHILD = "510001001"


def answer_by_object_type(call: Call) -> tuple[int, bytes, float]:
    request = etree.fromstring(call.body).find(f"*/{P}RetrieveRequestMsg/{P}RetrieveRequest")
    object_type = request.findtext(f"{P}ObjectType")
    if object_type == "List":
        return (
            200,
            retrieve_answer(
                [
                    a_list("17914", "Newsletter", description="Once a month"),
                    a_list("17900", "All Subscribers", kind="Private", classification="ExactTargetList"),
                ]
            ),
            0.0,
        )
    if object_type == "ListSubscriber":
        return (
            200,
            retrieve_answer([a_membership("17914", "Unsubscribed"), a_membership("17999", "Active")]),
            0.0,
        )
    if request.findtext(f"{P}Filter/{P}Value") == "nobody":
        return 200, retrieve_answer([]), 0.0
    return 200, retrieve_answer([("Subscriber", [("SubscriberKey", "demo-001"), ("Status", "Active")])]), 0.0


@pytest.fixture
def canned() -> Iterator[CannedMarketingCloud]:
    server = CannedMarketingCloud(answer=answer_by_object_type).start()
    yield server
    server.stop()


def run_flask(tmp_path: Path, canned: CannedMarketingCloud, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, canned.base_url, *args, client_id="id", secret="the-secret")


def run_cli(
    tmp_path: Path,
    auth_url: str,
    *args: str,
    client_id: str = EMULATOR_CLIENT_ID,
    secret: str = EMULATOR_CLIENT_SECRET,
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SFMC_", "FLASK_"))} | {
        "SFMC_AUTH_URL": auth_url,
        "SFMC_CLIENT_ID": client_id,
        "SFMC_CLIENT_SECRET": secret,
        "SFMC_TIMEOUT": "2",
        "LINK_SIGNING_KEYS": TEST_SIGNING_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite3'}",
    }
    return flask_cli(env, "sfmc", *args)


def test_lists_of_a_child_unit(tmp_path: Path, canned: CannedMarketingCloud) -> None:
    done = run_flask(tmp_path, canned, "lists", "--mid", CHILD)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "17900" in lines[0] and "All Subscribers" in lines[0]
    assert "17914" in lines[1] and "Newsletter: Once a month" in lines[1] and "public publication" in lines[1]
    assert lines[-1] == (
        f"2 list(s) in business unit {CHILD}, 1 public publication list(s); All Subscribers: 17900"
    )
    (call,) = canned.calls
    assert etree.fromstring(call.body).findtext(f".//{P}ClientIDs/{P}ID") == CHILD
    for secret in ("canned-token-1", "the-secret"):
        assert secret not in done.stdout + done.stderr


def test_memberships_with_list_names(tmp_path: Path, canned: CannedMarketingCloud) -> None:
    done = run_flask(tmp_path, canned, "memberships", "demo-001")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "All Subscribers: Active"
    assert lines[1].split() == ["17914", "Unsubscribed", "Newsletter"]
    assert lines[2].split() == ["17999", "Active", "(name", "unknown)"]
    assert lines[3] == "2 list membership(s) in the token's own business unit"
    assert [etree.fromstring(c.body).findtext(f".//{P}ObjectType") for c in canned.calls] == [
        "Subscriber",
        "ListSubscriber",
        "List",
    ]
    assert "canned-token-1" not in done.stdout + done.stderr


def test_memberships_of_nobody_and_a_failed_call(tmp_path: Path, canned: CannedMarketingCloud) -> None:
    canned.answer = lambda call: (200, retrieve_answer([]), 0.0)
    done = run_flask(tmp_path, canned, "memberships", "nobody")
    assert done.returncode == 1
    assert "no subscriber with that SubscriberKey" in done.stdout and "nobody" not in done.stdout

    canned.answer = lambda call: (500, fault("Rate Limited", "soap:Server", api_code=17), 0.0)
    done = run_flask(tmp_path, canned, "lists")
    assert done.returncode == 3
    assert "\nerror: Marketing Cloud unavailable: SOAP fault" in done.stderr
    assert "Traceback" not in done.stderr

    canned.answer = lambda call: (
        200,
        retrieve_answer(status="Error: Unable to find a handler for object type: List."),
        0.0,
    )
    done = run_flask(tmp_path, canned, "memberships", "demo-001", "--mid", CHILD)
    assert done.returncode == 3 and "Unable to find a handler" in done.stderr


def test_lists_and_memberships_against_the_emulator(tmp_path: Path, emulator: EmulatorServer) -> None:
    env_url = emulator.auth_url
    done = run_cli(tmp_path, env_url, "lists", "--mid", CHILD)
    assert done.returncode == 0, done.stderr
    assert "Brand newsletter: News from Demo Brand" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("3 public publication list(s); All Subscribers: 2000")
    done = run_cli(tmp_path, env_url, "memberships", "child-010", "--mid", CHILD)
    assert done.returncode == 0, done.stderr
    assert ["27914", "Unsubscribed", "Brand", "newsletter"] in [
        line.split() for line in done.stdout.splitlines()
    ]
    assert EMULATOR_CLIENT_SECRET not in done.stdout + done.stderr
