"""Fixtures of the emulator's own tests: a token issued by the session's emulator."""

from __future__ import annotations

import pytest
from emu_helpers import get_token


@pytest.fixture
def token(emulator) -> str:
    """A parent-unit token from the freshly reset emulator."""
    return get_token(emulator.base_url)


@pytest.fixture
def child_token(emulator) -> str:
    """A token issued for the child business unit (``account_id``)."""
    from emu_helpers import CHILD_MID

    return get_token(emulator.base_url, account_id=CHILD_MID)
