"""How an app gets its Marketing Cloud client: made from the parsed settings (``config.py``'s table holds
the defaults, the client adds none) with the observer it is handed, over real HTTP to the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sfmc_helpers import Observer, client_config

from app import create_app, sfmc
from app.identity import Recipient
from app.sfmc import LogUnsubEvent, SfmcClient, SfmcConfigError, SfmcTransientError, get_client
from tests.conftest import EmulatorServer, base_test_config, close_app


def test_the_apps_client_waits_for_the_parsed_sfmc_timeout(emulator: EmulatorServer, tmp_path: Path) -> None:
    app = create_app(
        base_test_config(emulator, tmp_path, SFMC_TIMEOUT="0.5")
    )  # text, as from the environment
    try:
        emulator.faults(latency_ms=1500)
        with pytest.raises(SfmcTransientError, match=r"within 0\.5 s"):
            get_client(app).log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-021"))])
    finally:
        close_app(app)


def test_settings_without_sfmc_timeout_are_refused_rather_than_given_a_second_default(
    emulator: EmulatorServer,
) -> None:
    settings = client_config(emulator)
    del settings["SFMC_TIMEOUT"]
    with pytest.raises(SfmcConfigError, match="SFMC_TIMEOUT"):
        SfmcClient.from_config(settings)


def test_init_app_hands_the_given_observer_to_the_client(emulator: EmulatorServer) -> None:
    """The observer reaches the client when it is made: calls count without any request being served."""
    app = Flask(__name__)
    app.config.update(client_config(emulator))
    observer = Observer()
    sfmc.init_app(app, observer=observer)
    client = get_client(app)
    try:
        client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-022", job_id="18099"))])
    finally:
        client.close()
    assert observer.refreshes == 1
    assert observer.calls == ["ok"]
