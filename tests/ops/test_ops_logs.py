"""JSON log lines: masking of emails and tokens, request ids, and a whole unsubscribe flow captured."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_helpers import (
    app_environment,
    demo_email,
    demo_link_token,
    form_fields,
    start_gunicorn,
    stop_process,
)

from app.ops import redact as redact_module
from app.ops.logs import JsonFormatter, RedactingFilter
from app.ops.redact import mask_email, may_need_redaction, redact

TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzayI6ImRlbW8tMDAxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sent to jane.doe+news@example.co.uk today", "sent to j•••@example.co.uk today"),
        ("GET /unsubscribe?t=abc.def.ghi&lang=de", "GET /unsubscribe?t=<redacted>&lang=de"),
        (f"token {TOKEN} seen", "token <redacted> seen"),
        ("Authorization: Bearer s3cr3t-value", "Authorization: Bearer <redacted>"),
        (
            '{"access_token": "tok-123", "expires_in": 1080}',
            '{"access_token": "<redacted>", "expires_in": 1080}',
        ),
        ("client_secret=hunter2&grant_type=x", "client_secret=<redacted>&grant_type=x"),
        ("redis://:pa55@cache:6379/0", "redis://<redacted>@cache:6379/0"),
        ("em=jane%40example.com", "em=j•••%40example.com"),
        # An address masked already stays as it is, and every other address in the text is masked too.
        (
            "from j•••@example.com to anna@example.org, cc bob@example.net",
            "from j•••@example.com to a•••@example.org, cc b•••@example.net",
        ),
        ('to "jane doe"@example.com', 'to "•••@example.com'),
        ("to jane@[192.0.2.7] now", "to j•••@[192.0.2.7] now"),
        ("to root@localhost now", "to r•••@localhost now"),
        ("to x@localhost", "to x•••@localhost"),
        ("j#$&=?^`{|}~/x@example.com", "j#$&=?^`{|}~/x•••@example.com"),
        (f"payload and signature {TOKEN.split('.', 1)[1]} only", "payload and signature <redacted> only"),
        (f"payload {TOKEN.split('.')[1]} alone", "payload <redacted> alone"),
    ],
)
def test_redact_masks_emails_and_removes_tokens(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # redacting twice changes nothing more


#: Pieces the redaction patterns look for, in odd cases and with the characters that fold onto them.
_PIECES = [
    *(
        "@",
        "%40",
        "eyJhbGciOi",
        "eyJzayI6",
        ".c2lnbmF0",
        "t=",
        "://",
        "BeArEr ",
        "acceſs_token=",
        "paſſword: ",
    ),
    *("u:p@", "x.y", '"a b"', "[192.0.2.7]", "localhost", "~/x", '"'),
]


def _redact_without_precheck(text: str) -> str:
    for pattern, replacement in (
        (redact_module._JWT, redact_module.REDACTED),
        (redact_module._LINK_TOKEN, r"\1" + redact_module.REDACTED),
        (redact_module._BEARER, r"\1" + redact_module.REDACTED),
        (redact_module._URL_CREDENTIALS, r"\1" + redact_module.REDACTED + "@"),
        (redact_module._SECRET_FIELD, r"\1" + redact_module.REDACTED),
    ):
        text = pattern.sub(replacement, text)
    return redact_module._EMAIL.sub(lambda m: f"{m.group(1)[0]}•••{m.group(2)}{m.group(3)}", text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=12))
def test_the_quick_precheck_never_skips_text_that_needs_redaction(pieces: list[str]) -> None:
    text = "".join(pieces)
    full = _redact_without_precheck(text)
    assert redact(text) == full
    if not may_need_redaction(text):
        assert full == text


def test_mask_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("jane@example.com") == "j•••@example.com"
    assert mask_email("not-an-address") == "•••"


def _format(record: logging.LogRecord) -> dict:
    RedactingFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_filter_masks_arguments_and_formatter_writes_one_json_object() -> None:
    record = logging.LogRecord(
        "app.test", logging.WARNING, __file__, 1, "for %s via %s", ("ann@example.org", TOKEN), None
    )
    record.request_id = "req-1"
    record.status = 202
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = _format(record)
    assert entry["message"] == "for a•••@example.org via <redacted>"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "app.test"
    assert entry["request_id"] == "req-1"
    assert entry["status"] == 202
    assert entry["time"].endswith("+00:00")


def test_exception_text_is_redacted_too() -> None:
    try:
        raise ValueError(f"bad link t={TOKEN} for bob@example.net")
    except ValueError:
        import sys

        record = logging.LogRecord("app.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = _format(record)
    assert "Traceback" in entry["exception"]
    assert TOKEN not in entry["exception"]
    assert "bob@example.net" not in entry["exception"]


@pytest.mark.parametrize(
    ("sent", "echoed_as_sent"),
    [
        ("edge-4f2a9c:17", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ("<script>", False),
        ("jane@example.com", False),
        ("", False),
    ],
)
def test_request_id_is_taken_when_safe_and_always_echoed(client, sent: str, echoed_as_sent: bool) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    echoed = response.headers["X-Request-ID"]
    if echoed_as_sent:
        assert echoed == sent
    else:
        assert echoed != sent
        assert len(echoed) == 32 and echoed.isalnum()


def test_a_whole_flow_logs_json_lines_without_email_or_token(make_app, emulator, capsys) -> None:
    app = make_app(LOG_LEVEL="DEBUG")
    client = app.test_client()
    token = demo_link_token(3)
    capsys.readouterr()

    page = client.get(f"/unsubscribe?t={token}", headers={"X-Request-ID": "flow-get"})
    assert page.status_code == 200
    action, fields = form_fields(page.get_data(as_text=True))
    fields["reason"] = "other"
    fields["other_text"] = f"please stop, write to {demo_email(3)} instead"
    done = client.post(action, data=fields, headers={"X-Request-ID": "flow-post"})
    assert done.status_code == 200
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-003"]

    output = capsys.readouterr().out
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) >= 2
    for forbidden in (demo_email(3), token, token.split(".")[1], token.split(".")[2]):
        assert forbidden not in output
    by_request = {record.get("request_id"): record for record in records if record.get("status")}
    assert by_request["flow-get"]["route"] == "unsubscribe.show"
    assert by_request["flow-get"]["status"] == 200
    assert by_request["flow-post"]["status"] == 200
    assert by_request["flow-get"]["outcome"] == "form_shown"
    assert by_request["flow-post"]["outcome"] == "delivered"
    assert isinstance(by_request["flow-post"]["duration_ms"], float)


def test_gunicorns_access_log_masks_every_spelling_of_an_address_and_token(emulator, tmp_path) -> None:
    """Through the real server: what a client sends (path, User-Agent) reaches the access log masked."""
    signature_only = TOKEN.split(".", 1)[1]
    sent = ['"jane doe"@example.com', "jane@[192.0.2.7]", "root@localhost", signature_only]
    server = start_gunicorn(app_environment(emulator, tmp_path), tmp_path)
    try:
        for value in sent:
            requests.get(f"{server.base_url}/healthz", headers={"User-Agent": f"probe {value}"}, timeout=10)
        requests.get(f"{server.base_url}/root@localhost", timeout=10)
    finally:
        stop_process(server.process)
    lines = server.log_lines()
    access = [line for line in lines if "probe" in line or "localhost" in line]
    assert len(access) >= 5, lines
    logged = "\n".join(lines)
    for forbidden in ("jane doe", "jane@", "root@", signature_only[:20]):
        assert forbidden not in logged
    assert "•••@[192.0.2.7]" in logged
    assert "r•••@localhost" in logged
