"""The emulator's HTTP face: OAuth token endpoint, SOAP ``Service.asmx``, the ``/_emulator`` inspection API.

One ``Emulator`` object holds the state, tokens, stats and fault configuration behind one lock; the Flask
views are thin. Waiting (latency, the ``timeout`` fault) happens outside the lock, so slow calls never hold
up others.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import soap
from .dispatch import soap_call
from .faults import FaultConfig, FaultConfigError
from .object_types import TYPES
from .retrieve import PAGE_SIZE, Continuations
from .state import Account

SCOPE = "email_read email_write list_and_subscribers_read list_and_subscribers_write tracking_events_read"


@dataclass
class Token:
    mid: int
    expires_at: float  # time.monotonic() deadline


class Emulator:
    """State, tokens, counters and faults of one emulator process. Every method takes the lock itself."""

    def __init__(
        self,
        data_path: Path | None,
        client_id: str,
        client_secret: str,
        token_ttl: int,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.data_path = data_path
        self.page_size = page_size
        self.continuations = Continuations()
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.lock = threading.Lock()
        self.account = Account.load(data_path)
        self.tokens: dict[str, Token] = {}
        self.faults = FaultConfig()
        self.stats = _zero_stats()
        self.faults_by_kind: dict[str, int] = {}  # kind -> calls that drew it (the soak checks each ran)

    def reset(self) -> None:
        """Demo data reloaded; events, stats, faults and tokens cleared."""
        account = Account.load(self.data_path)
        with self.lock:
            self.account = account
            self.continuations = Continuations()
            self.tokens.clear()
            self.faults = FaultConfig()
            self.stats = _zero_stats()
            self.faults_by_kind = {}

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a top-level counter of ``stats``."""
        with self.lock:
            self.stats[name] += amount

    def issue_token(self, mid: int) -> str:
        token = secrets.token_urlsafe(96)
        with self.lock:
            self.tokens[token] = Token(mid, time.monotonic() + self.token_ttl)
        return token

    def check_token(self, token: str | None) -> tuple[int | None, str | None]:
        """``(mid, None)`` for a live token, else ``(None, "Token Expired" | "Login failed")``."""
        with self.lock:
            issued = self.tokens.get(token or "")
        if issued is None:
            return None, "Login failed"
        if time.monotonic() >= issued.expires_at:
            return None, "Token Expired"
        return issued.mid, None

    def set_faults(self, config: FaultConfig) -> None:
        with self.lock:
            self.faults = config
            if config.expire_tokens_now:
                now = time.monotonic()
                for issued in self.tokens.values():
                    issued.expires_at = min(issued.expires_at, now)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            state = self.account.to_json()
            state["stats"] = {k: dict(v) if isinstance(v, dict) else v for k, v in self.stats.items()}
            state["faults"] = self.faults.to_json()
            state["faults_injected_by_kind"] = dict(self.faults_by_kind)
        return state


def _zero_stats() -> dict[str, Any]:
    """Counters of ``/_emulator/state``; ``retrieve`` counts Retrieve calls (pages) by object type."""
    return {
        "token_requests": 0,
        "soap_calls": 0,
        "requests_executed": 0,
        "faults_injected": 0,
        "execute": 0,
        "retrieve": dict.fromkeys(TYPES, 0),
        "update": 0,
        "update_objects": 0,
    }


def create_app(emulator: Emulator) -> Flask:
    """The WSGI app around ``emulator``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = soap.MAX_BODY_BYTES
    app.extensions["emulator"] = emulator
    # Staging may put the emulator behind a proxy: token responses then point at the proxy's address.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    @app.post("/v2/token")
    def token() -> Response | tuple[Response, int]:
        emulator.count("token_requests")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _oauth_error(400, "invalid_request", "The request body must be a JSON object.")
        if body.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Use grant_type client_credentials.")
        if body.get("client_id") != emulator.client_id or body.get("client_secret") != emulator.client_secret:
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        with emulator.lock:
            units = emulator.account.business_units
            top_mid = next(mid for mid, unit in units.items() if unit.parent_mid is None)
            mid = top_mid
            account_id = body.get("account_id")
            if account_id not in (None, ""):
                try:
                    mid = int(account_id)
                except (TypeError, ValueError):
                    mid = -1
                if mid not in units:
                    text = "account_id is not a business unit of this account."
                    return _oauth_error(401, "invalid_client", text)
        base = request.host_url  # ends with "/"
        ttl = emulator.token_ttl
        return jsonify(
            {
                "access_token": emulator.issue_token(mid),
                "token_type": "Bearer",
                # Marketing Cloud reports one second less than the lifetime, so clients refresh a bit early.
                "expires_in": ttl - 1 if ttl > 1 else ttl,
                "scope": SCOPE,
                "soap_instance_url": base,
                "rest_instance_url": base,
            }
        )

    @app.route("/<path:path>", methods=["GET", "POST"])
    def service(path: str) -> Response:
        if path.lower() != "service.asmx":
            return Response("Not Found", 404, content_type="text/plain")
        if request.method == "GET":
            return Response(_SERVICE_PAGE, 200, content_type="text/html; charset=utf-8")
        return soap_call(emulator)

    @app.get("/_emulator/state")
    def state() -> Response:
        return jsonify(emulator.snapshot())

    @app.post("/_emulator/reset")
    def reset() -> Response:
        emulator.reset()
        return jsonify({"reset": True})

    @app.route("/_emulator/faults", methods=["GET", "POST"])
    def faults() -> Response | tuple[Response, int]:
        if request.method == "POST":
            try:
                config = FaultConfig.from_json(request.get_json(silent=True))
            except FaultConfigError as exc:
                return jsonify({"error": str(exc)}), 400
            emulator.set_faults(config)
        with emulator.lock:
            return jsonify(emulator.faults.to_json())

    @app.get("/")
    def index() -> Response:
        return jsonify(
            {
                "service": "Marketing Cloud emulator",
                "token_url": f"{request.host_url}v2/token",
                "soap_url": f"{request.host_url}Service.asmx",
                "inspect": [f"{request.host_url}_emulator/state", f"{request.host_url}_emulator/faults"],
            }
        )

    return app


_SERVICE_PAGE = (
    "<html><head><title>Service</title></head><body><h1>Service</h1>"
    "<p>Marketing Cloud emulator: POST SOAP 1.1 or 1.2 Execute, Retrieve and Update requests here.</p>"
    "</body></html>"
)


def _oauth_error(status: int, error: str, description: str) -> tuple[Response, int]:
    return (
        jsonify(
            {
                "error": error,
                "error_description": description,
                "error_uri": "https://developer.salesforce.com/docs",
            }
        ),
        status,
    )
