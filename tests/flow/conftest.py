"""Fixtures of the flow tests: the app on the session's emulator, a real SQLite journal, minted links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY, base_test_config

# Demo identities of the emulator (emulator/data/demo.json, docs/emulator.md).
PARENT_MID = "510001000"
CHILD_MID = "510001001"
ALL_SUBSCRIBERS = "1000"
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}  # odd demo-0NN were sent batch 0
NEWSLETTER_BATCH_1 = {"job_id": "18099", "list_id": "17914", "batch_id": "1"}  # even ones batch 1
BRAND_NEWSLETTER = {"job_id": "28001", "list_id": "27914", "batch_id": "0", "mid": CHILD_MID}
ALREADY_OFF_NEWSLETTER = "demo-022"  # unsubscribed from the newsletter already, sent batch 1 (401)
NOT_ON_NEWSLETTER_JOB = "demo-024"  # exists, but job 18099 was never sent to them (400)


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and a SQLite journal; their threads and connections end with the test."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        settings = {"RATELIMIT_POST": "10000 per minute", "INLINE_DELIVERY_BUDGET": "3", **overrides}
        app = create_app(base_test_config(emulator, tmp_path, **settings))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["journal_delivery"].shutdown()
        app.extensions["journal"].close()
        client = app.extensions.get("sfmc_client")
        if client is not None:
            client.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app that tracks "all email" unsubscribes against the job (All Subscribers list configured)."""
    return make_app(SFMC_ALL_SUBSCRIBERS_LIST_ID=ALL_SUBSCRIBERS)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def link(**claims: Any) -> str:
    """The path and query of a link for ``claims`` (LinkClaims fields), signed with the test key."""
    return "/unsubscribe?t=" + mint(LinkClaims(**claims), TEST_SIGNING_KEY)


def journal_entries(app: Flask) -> list[Any]:
    return app.extensions["journal"].entries()
