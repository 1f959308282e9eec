"""Where the preview's pages come from: the real app, on the Marketing Cloud emulator, with a scratch journal.

The emulator (``emulator/``, the same one ``make run`` uses) runs on a loopback port inside this process,
with its demo data; for a business unit's brand (``--mid``) its child unit takes that MID, so the states
of that unit's links come out as they would in Marketing Cloud. The app is the one ``create_app`` builds
from the environment, with the brand, ``TEMPLATE_DIR``, reasons and languages as configured, and only
what a preview must not touch replaced: Marketing Cloud (the emulator), the journal (a SQLite file in a
temporary folder, one per language), the signing key, the rate-limit storage. Nothing reaches the real
Marketing Cloud or the real journal.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from app.identity import Recipient
from app.links import LinkClaims, mint

#: The preview app's route to the error pages it cannot provoke (429, 500, 503).
PREVIEW_ERRORS = "/_preview/error/"

PARENT_MID = "510001000"
CHILD_MID = "510001001"  # the demo data's child unit; a preview for another MID renames it
#: How slow Marketing Cloud is for the "processing" state: longer than the inline budget below.
SLOW_MS = 900
INLINE_BUDGET = "0.3"


@dataclass(frozen=True)
class Identities:
    """The demo subscribers and send of one business unit (docs/emulator.md), by what they show."""

    send: dict[str, str]  # job_id, list_id, batch_id of the newsletter (batch 0)
    happy: tuple[str, ...]  # active on the list and sent that job: one per state that unsubscribes
    already: dict[str, str]  # recipient fields of someone already off that list
    not_on_job: dict[str, str]  # recipient fields of someone the job was never sent to
    mismatched: dict[str, str]  # a SubscriberID and a SubscriberKey of two different people
    mid: str | None = None


PARENT = Identities(
    send={"job_id": "18099", "list_id": "17914", "batch_id": "0"},
    happy=("demo-001", "demo-003", "demo-005", "demo-007", "demo-009", "demo-011"),
    already={"subscriber_key": "demo-022", "job_id": "18099", "list_id": "17914", "batch_id": "1"},
    not_on_job={"subscriber_key": "demo-024", "job_id": "18099", "list_id": "17914", "batch_id": "0"},
    mismatched={"subscriber_id": "1001", "subscriber_key": "demo-002", "job_id": "18099", "batch_id": "0"},
)


def child_identities(mid: str) -> Identities:
    """The child unit's demo subscribers, in the unit with MID ``mid``."""
    return Identities(
        send={"job_id": "28001", "list_id": "27914", "batch_id": "0"},
        happy=("child-001", "child-003", "child-005", "child-007"),
        already={"subscriber_key": "child-010", "job_id": "28001", "list_id": "27914", "batch_id": "1"},
        not_on_job={"subscriber_key": "child-006", "job_id": "28002", "list_id": "27920", "batch_id": "0"},
        mismatched={
            "subscriber_id": "2001",
            "subscriber_key": "child-002",
            "job_id": "28001",
            "batch_id": "0",
        },
        mid=mid,
    )


def people_of(mid: str | None) -> Identities:
    """The demo identities whose links carry ``mid`` (none: the parent unit's, without a MID claim)."""
    if mid is None:
        return PARENT
    if mid == PARENT_MID:
        return replace(PARENT, mid=PARENT_MID)
    return child_identities(mid)


@dataclass
class PreviewPage:
    """What a state's function gets: the page's language, a test client of the real app, demo links."""

    client: FlaskClient
    lang: str
    people: Identities
    emulator: Any  # emulator.server.Emulator: faults(...) for the states that need Marketing Cloud slow
    signing_key: str
    _used: set[str] = field(default_factory=set)

    def link(self, *, locale: str | None = None, **recipient: Any) -> str:
        """The path of a signed link (``?t=…&lang=``) for ``recipient`` (Recipient fields) in this unit."""
        fields = {"mid": self.people.mid, **recipient}
        token = mint(LinkClaims(Recipient(**fields), locale=locale), self.signing_key)
        return f"/unsubscribe?t={token}&lang={self.lang}"

    def happy_link(self, *, with_job: bool = True, fresh: bool = True) -> str:
        """A link of a subscriber on the newsletter; with ``fresh``, one no other state of this language
        used (a state that unsubscribes needs its own: the journal holds the earlier ones)."""
        key = (
            next((k for k in self.people.happy if k not in self._used), None)
            if fresh
            else self.people.happy[0]
        )
        if key is None:
            raise RuntimeError("more preview states unsubscribe than the demo data has subscribers for")
        if fresh:
            self._used.add(key)
        send = self.people.send if with_job else {}
        return self.link(subscriber_key=key, email=f"{key.replace('-', '')}@example.com", **send)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET ``path`` in this language."""
        return self.client.get(_with_lang(path, self.lang), **kwargs)

    def slow_marketing_cloud(self) -> None:
        """Marketing Cloud answers after the inline budget: the request stays pending ("processing")."""
        from emulator.faults import FaultConfig

        self.emulator.set_faults(FaultConfig(latency_ms=SLOW_MS))

    def failing_marketing_cloud(self) -> None:
        """Marketing Cloud has an outage: with one attempt allowed, the entry is given up ("stalled")."""
        from emulator.faults import FaultConfig

        self.emulator.set_faults(FaultConfig(error_rate=1.0, errors=["outage"]))


def _with_lang(path: str, lang: str) -> str:
    if "lang=" in path:
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


@contextmanager
def running_emulator(mid: str | None) -> Iterator[tuple[Any, str]]:
    """The emulator with its demo data on a loopback port in a thread; the child unit is ``mid``."""
    from emulator.server import Emulator, create_app

    data = (Path(__file__).resolve().parents[2] / "emulator" / "data" / "demo.json").read_text("utf-8")
    with tempfile.TemporaryDirectory(prefix="preview-emulator-") as folder:
        path = Path(folder) / "data.json"
        # The child unit becomes the unit asked for, so its links come out as that unit's would.
        text = data.replace(CHILD_MID, mid) if mid and mid not in (CHILD_MID, PARENT_MID) else data
        json.loads(text)  # still one JSON document
        path.write_text(text, encoding="utf-8")
        emulator = Emulator(path, "preview-client", secrets.token_urlsafe(24), 3600)
        server = make_server("127.0.0.1", 0, create_app(emulator), threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="preview-emulator", daemon=True)
        thread.start()
        try:
            yield emulator, f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


@contextmanager
def preview_app(emulator: Any, emulator_url: str, mid: str | None, journal: Path) -> Iterator[Flask]:
    """The app as configured, on the emulator, with a scratch journal and a scratch signing key."""
    from app import create_app

    child = mid if mid and mid != PARENT_MID else CHILD_MID
    units = f"{PARENT_MID}:1000,{child}:2000"  # each unit's All Subscribers list in the demo data
    app = create_app(
        {
            "SFMC_AUTH_URL": emulator_url,
            "SFMC_CLIENT_ID": emulator.client_id,
            "SFMC_CLIENT_SECRET": emulator.client_secret,
            "SFMC_ACCOUNT_ID": PARENT_MID,
            "SFMC_SOAP_URL": "",
            "SFMC_ALL_SUBSCRIBERS_LIST_ID": "",
            "SFMC_ALL_SUBSCRIBERS_LISTS": units,
            "DATABASE_URL": f"sqlite:///{journal}",
            "LINK_SIGNING_KEYS": PREVIEW_KEY,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_POST": "100000 per minute",
            "INLINE_DELIVERY_BUDGET": INLINE_BUDGET,
            "DELIVERY_MAX_ATTEMPTS": "1",  # the first failure gives up: the "stalled" state
            "SECURE_HSTS": "false",
            "PROPAGATE_EXCEPTIONS": False,  # a 500 becomes the 500 page, as in production
            "LOG_LEVEL": "WARNING",  # no line per request of the preview
        }
    )
    app.add_url_rule(f"{PREVIEW_ERRORS}<int:status>", "preview_error", _preview_error)
    try:
        yield app
    finally:
        app.extensions["journal_delivery"].shutdown()
        app.extensions["journal"].close()
        client = app.extensions.get("sfmc_client")
        if client is not None:
            client.close()


def _preview_error(status: int) -> Any:
    """The preview app's own route to the errors no honest request of a preview provokes."""
    from flask import abort

    from app.ops.errors import service_unavailable

    if status == 503:
        return service_unavailable()
    if status == 500:
        raise RuntimeError("the preview's 500 page (raised on purpose)")
    abort(status)


#: Signs the preview's links only; never a deployment's key (those stay out of the preview folder).
PREVIEW_KEY = secrets.token_urlsafe(32)
