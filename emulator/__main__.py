"""``python -m emulator``: serve the Marketing Cloud emulator on a threaded WSGI server."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from werkzeug.serving import make_server

from .server import Emulator, create_app
from .state import DataError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9100, help="port to listen on (default 9100)")
    parser.add_argument("--data", type=Path, default=None, help="JSON data file (default: the demo data)")
    parser.add_argument("--client-id", default="demo-client-id", help="accepted OAuth client_id")
    parser.add_argument("--client-secret", default="demo-client-secret", help="accepted OAuth client_secret")
    parser.add_argument("--token-ttl", type=int, default=1080, help="token lifetime in seconds")
    parser.add_argument(
        "--page-size",
        type=int,
        default=2500,
        help="Retrieve rows per page (default 2500, as Marketing Cloud's; smaller only for tests of paging)",
    )
    parser.add_argument("--log-requests", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)
    if args.token_ttl < 1:
        parser.error("--token-ttl must be at least 1 second")
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Request lines are off by default: tests read our output only on failure, and a full pipe would block us.
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.log_requests else logging.WARNING)
    try:
        emulator = Emulator(args.data, args.client_id, args.client_secret, args.token_ttl, args.page_size)
    except DataError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    try:
        # One thread per connection (werkzeug's ThreadingMixIn server, listen backlog 128): enough for the
        # benchmarks' 50 concurrent clients, and a slow call (latency, the timeout fault) blocks only itself.
        server = make_server(args.host, args.port, create_app(emulator), threaded=True)
    except OSError as exc:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Marketing Cloud emulator on http://{args.host}:{server.port} (Ctrl+C stops it)", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
