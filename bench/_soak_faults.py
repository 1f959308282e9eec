"""What the soak does to the app besides SIGKILL: end its PostgreSQL connections, or sabotage its POSTs.

``ConnectionDropper`` ends the server processes of the soak's own database (``pg_terminate_backend``,
filtered on ``datname``: the database ``bench.soak`` created for this run, never anybody else's session).
The app and the worker find out on their next statement, as after a failover or a restarted PgBouncer.

``SabotageProxy`` is the soak's self-check (``bench.soak --sabotage 0.9``): a loopback proxy in front of
each app instance that answers a share of the POSTs itself with a clear 503 "try again" page, *without
forwarding them*. Nothing it answers is journaled, so a soak through it must fail.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bench import _common as common


class ConnectionDropper:
    """Ends every backend connected to one database (ours), from a connection of its own."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.datname = urlsplit(database_url).path.lstrip("/")
        self.drops = 0  # drops that ended at least one backend
        self.backends = 0

    def drop(self, patience: float = 5.0) -> int:
        """End the app's and the workers' connections; returns how many were ended.

        Right after a kill or another drop the pools may hold no connection yet, and ending nothing is no
        drop: it tries again for up to ``patience`` seconds until there is a connection to end.
        """
        deadline = time.monotonic() + patience
        while True:
            ended = self._end_backends()
            if ended or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if ended:
            self.drops += 1
            self.backends += ended
        return ended

    def _end_backends(self) -> int:
        import psycopg

        with psycopg.connect(
            self.database_url, autocommit=True, application_name="bench-soak-dropper"
        ) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.datname,),
            ).fetchall()
        return sum(1 for (done,) in rows if done)


TRY_AGAIN_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Please try again</title></head>"
    "<body><h1>Please try again</h1><p>We could not take your request just now. "
    "Please try again in a moment.</p></body></html>"
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class _QuietHandler(WSGIRequestHandler):
    """No access line per request on the soak's terminal (thousands of them)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SabotageProxy:
    """A threaded loopback HTTP proxy to ``upstream`` that swallows ``rate`` of the POSTs with a 503."""

    def __init__(self, upstream: str, rate: float, seed: int = 8058) -> None:
        self.upstream = upstream
        self.rate = rate
        self.swallowed = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", common.free_port(), self._app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _swallow(self) -> bool:
        with self._lock:
            swallow = self._random.random() < self.rate
            self.swallowed += swallow
        return swallow

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if method == "POST" and self._swallow():
            start_response("503 Service Unavailable", [("Content-Type", "text/html; charset=utf-8")])
            return [TRY_AGAIN_PAGE.encode()]
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        query = environ.get("QUERY_STRING", "")
        url = f"{self.upstream}{environ.get('PATH_INFO', '/')}" + (f"?{query}" if query else "")
        headers = {
            name[5:].replace("_", "-").title(): value
            for name, value in environ.items()
            if name.startswith("HTTP_") and name not in ("HTTP_HOST", "HTTP_CONNECTION")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            answer = session.request(method, url, data=body, headers=headers, timeout=30)
        except requests.RequestException:
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"bad gateway\n"]
        kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{answer.status_code} {answer.reason}", kept)
        return [answer.content]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
