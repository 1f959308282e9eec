"""The baseline of bench/http.py: a bare Flask app that answers "hello", served by the same gunicorn config.

``gunicorn --config gunicorn.conf.py bench.bare_app:app``. It has a ``/healthz`` so that the same readiness
probe works for both servers.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The cheapest page Flask can serve."""
    return "hello"


@app.get("/healthz")
def healthz() -> str:
    """Readiness probe for the benchmark harness."""
    return "ok"
