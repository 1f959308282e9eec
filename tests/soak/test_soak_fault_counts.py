"""The emulator's per-kind fault counter: `bench.soak` reads it to prove each fault it asked for ran."""

from __future__ import annotations

import requests


def test_the_emulator_counts_each_injected_fault_by_kind(emulator) -> None:
    emulator.faults(error_rate=1.0, errors=["html_502"])
    for _ in range(3):
        assert requests.post(emulator.soap_url, data=b"<x/>", timeout=5).status_code == 502
    assert emulator.state()["faults_injected_by_kind"] == {"html_502": 3}
    requests.post(f"{emulator.base_url}/_emulator/reset", timeout=5).raise_for_status()
    assert emulator.state()["faults_injected_by_kind"] == {}
