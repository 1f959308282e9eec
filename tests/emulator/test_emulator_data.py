"""The data file's fields for Retrieve (descriptions, visibility, MasterUnsubscribeBehavior) are checked at
load, and a file without them (the benchmarks' generated ones) still loads, with the documented defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.state import DEMO_DATA, Account, DataError

BASE = {
    "account": {"subscriber_key_permission": True},
    "business_units": [{"mid": 1, "name": "One", "parent_mid": None}],
    "lists": [
        {"id": 10, "name": "All Subscribers", "type": "all_subscribers", "mid": 1},
        {"id": 11, "name": "News", "type": "publication", "mid": 1, "members": {"5": "Active"}},
        {"id": 12, "name": "Staff", "type": "subscriber", "mid": 1},
    ],
    "jobs": [],
    "subscribers": [{"id": 5, "key": "k5", "email": "k5@example.com", "mid": 1}],
    "sends": [],
}


def _load(tmp_path: Path, data: dict) -> Account:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return Account.load(path)


def test_a_file_without_the_new_fields_gets_the_defaults(tmp_path: Path) -> None:
    account = _load(tmp_path, BASE)
    assert account.business_units[1].master_unsubscribe_behavior == "BUSINESS_UNIT_ONLY"
    lists = account.lists
    assert (lists[11].visibility, lists[11].classification, lists[11].description) == (
        "Public",
        "PublicationList",
        "",
    )
    assert (lists[12].visibility, lists[12].classification) == ("Private", "ExactTargetList")
    assert lists[10].customer_key == "All Subscribers - 0"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(
            lambda d: d["business_units"][0].update(master_unsubscribe_behavior="EVERYWHERE"),
            "MasterUnsubscribeBehavior",
            id="behaviour",
        ),
        pytest.param(lambda d: d["lists"][1].update(visibility="Secret"), "visibility", id="visibility"),
        pytest.param(
            lambda d: d["lists"].append(
                {"id": 13, "name": "All Subscribers", "type": "all_subscribers", "mid": 1}
            ),
            "two All Subscribers lists",
            id="two-all-subscribers",
        ),
    ],
)
def test_bad_values_stop_the_load(tmp_path: Path, change, words: str) -> None:
    data = json.loads(json.dumps(BASE))
    change(data)
    with pytest.raises(DataError, match=words):
        _load(tmp_path, data)


def test_the_demo_data_loads_and_names_its_public_lists() -> None:
    account = Account.load(DEMO_DATA)
    public = {
        (lst.mid, lst.name)
        for lst in account.lists.values()
        if lst.visibility == "Public" and lst.classification == "PublicationList"
    }
    assert {(510001000, n) for n in ("Newsletter", "Product news", "Weekly offers", "Events")} <= public
    assert {(510001001, n) for n in ("Brand newsletter", "Brand events", "Brand offers")} <= public
    assert all(lst.description for lst in account.lists.values() if (lst.mid, lst.name) in public)


def test_page_size_below_one_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "--page-size", "0"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "--page-size must be at least 1" in done.stderr
