"""What several Marketing Cloud client tests share: the settings of a client on the emulator, a recording
observer."""

from __future__ import annotations

from typing import Any

from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EmulatorServer


def client_config(emulator: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    """Parsed settings (as ``config.load_config`` gives them) of a client on ``emulator``."""
    config = {
        "SFMC_AUTH_URL": emulator.auth_url,
        "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
        "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "SFMC_TIMEOUT": 2.0,
    }
    config.update(overrides)
    return config


class Observer:
    """Records what the client reports; asserts nothing itself (the client swallows an observer's
    exceptions, so a check in here could never fail a test): the tests check ``calls`` and ``seconds``."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.calls: list[str] = []
        self.seconds: list[float] = []

    def on_token_refresh(self) -> None:
        self.refreshes += 1

    def on_call(self, outcome: str, seconds: float) -> None:
        self.calls.append(outcome)
        self.seconds.append(seconds)
