"""The metrics observer tells Retrieve and Update from Execute, and any successful call proves the
credentials for ``/readyz`` (its ``last_auth_ok``)."""

from __future__ import annotations

from app.ops.metrics import SFMC_CALLS, SfmcMetricsObserver


def test_each_call_kind_counts_under_its_own_label_and_a_success_of_any_kind_proves_auth() -> None:
    observer = SfmcMetricsObserver()
    counts = {
        label: SFMC_CALLS.labels(outcome=label)._value.get() for label in ("ok", "retrieve_ok", "update_ok")
    }
    observer.on_call("retrieve_transient", 0.1)
    observer.on_call("update_auth", 0.1)
    assert observer.last_auth_ok is None  # failures prove nothing
    observer.on_call("retrieve_ok", 0.1)
    after_retrieve = observer.last_auth_ok
    assert after_retrieve is not None
    observer.on_call("update_ok", 0.1)
    assert observer.last_auth_ok >= after_retrieve
    assert SFMC_CALLS.labels(outcome="retrieve_ok")._value.get() == counts["retrieve_ok"] + 1
    assert SFMC_CALLS.labels(outcome="update_ok")._value.get() == counts["update_ok"] + 1
    assert SFMC_CALLS.labels(outcome="ok")._value.get() == counts["ok"]  # Execute's count did not move
