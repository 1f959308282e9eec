"""Helpers of the link tests: the keys of the rotation tests and the journal's contents."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import TEST_SIGNING_KEY

OLD_KEY = "previous-signing-key-0123456789"
NEW_KEY = TEST_SIGNING_KEY


def journal_entries(app: Flask) -> list[Any]:
    """Everything the app's journal holds."""
    return app.extensions["journal"].entries()
