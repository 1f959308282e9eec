"""Fuzzers: hostile links, forms and headers against the app; hostile Marketing Cloud answers to the parser.

    .venv/bin/python -m bench.fuzz [--cases 3000] [--seed N]

1. The Marketing Cloud response parser (``app.sfmc.response.parse_response``) gets random and mutated
   Execute answers and faults, and the classic attacks: XXE (file and network), billion laughs, quadratic
   blow-up, deep nesting, huge bodies, DOCTYPEs in UTF-16. Allowed: a parsed result, a fault, or an
   ``SfmcError``. Anything else (another exception, a second or more of CPU, a file's content or a network
   hit leaking through an entity) counts as a crash.
2. The app (Flask test client, a real emulator over loopback, a real SQLite journal) gets random and
   mutated link tokens — including correctly signed tokens with claims of every odd type — random form
   fields, methods, bodies and headers. Any 5xx or exception counts as a server error, and so does an
   ERROR record from an ``app.*`` logger (an exception delivery swallowed); a GET, HEAD or OPTIONS must
   never log an UnsubEvent nor add or change a journal row.

Prints the cases tried and the crash / server-error counts last; exits 1 on any.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import logging
import random
import sys
import tempfile
import threading
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from lxml import etree

from app.identity import Recipient
from bench import _common as common

PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SLOW_CASE_SECONDS = 1.0

# --- Marketing Cloud answers ----------------------------------------------------------------------------


def execute_response(results: list[tuple[str, str, str | None]], overall: str = "OK") -> bytes:
    """A well-formed Execute answer with (StatusCode, StatusMessage, ErrorCode) per request."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    message = etree.SubElement(body, f"{{{PARTNER}}}ExecuteResponseMsg", nsmap={None: PARTNER})
    etree.SubElement(message, f"{{{PARTNER}}}OverallStatus").text = overall
    etree.SubElement(message, f"{{{PARTNER}}}RequestID").text = "8c1f5a2e-0000-4000-8000-000000000000"
    for status, text, code in results:
        result = etree.SubElement(message, f"{{{PARTNER}}}Results")
        etree.SubElement(result, f"{{{PARTNER}}}StatusCode").text = status
        etree.SubElement(result, f"{{{PARTNER}}}StatusMessage").text = text
        if code is not None:
            etree.SubElement(result, f"{{{PARTNER}}}ErrorCode").text = code
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def fault_response(faultcode: str, faultstring: str, api_code: str | None = None) -> bytes:
    """A SOAP fault as Marketing Cloud sends it with HTTP 500."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = faultstring
    if api_code is not None:
        detail = etree.SubElement(fault, "detail")
        apifault = etree.SubElement(detail, "{urn:fault.partner.exacttarget.com}apifault")
        etree.SubElement(apifault, "{urn:fault.partner.exacttarget.com}Code").text = api_code
        etree.SubElement(apifault, "{urn:fault.partner.exacttarget.com}Message").text = faultstring
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


SEED_BODIES: list[bytes] = [
    execute_response([("OK", "Event posted", None)]),
    execute_response(
        [("OK", "Event posted", None), ("Error", "Subscriber is already unsubscribed", "401")], "Has Errors"
    ),
    execute_response([("Error", "OnMasterUnsubscribeList", "12012")] * 3, "Error"),
    execute_response([("OK", "Event posted", None)] * 50),
    fault_response("q0:Security", "Token Expired"),
    fault_response("soap:Server", "Rate Limited", "17"),
    fault_response("soap:Server", "Unplanned Outage", "2"),
    fault_response("soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: X."),
]


def attack_bodies(secret_file: Path, canary_url: str) -> list[tuple[str, bytes]]:
    """The well-known XML attacks, each a name and a body; none may expand, fetch or take long."""
    laughs = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    envelope_with = (
        '<soap:Envelope xmlns:soap="{env}"><soap:Body><ExecuteResponseMsg xmlns="{p}">'
        "<OverallStatus>{status}</OverallStatus></ExecuteResponseMsg></soap:Body></soap:Envelope>"
    )

    def with_doctype(subset: str, status: str) -> bytes:
        return (
            f'<?xml version="1.0"?>\n<!DOCTYPE soap:Envelope [{subset}]>\n'
            + envelope_with.format(env=SOAP_ENV, p=PARTNER, status=status)
        ).encode()

    big_entity = '<!ENTITY big "' + "x" * 50_000 + '">'
    deep = 200_000
    bodies = [
        ("xxe file", with_doctype(f'<!ENTITY xxe SYSTEM "file://{secret_file}">', "&xxe;")),
        ("xxe network", with_doctype(f'<!ENTITY xxe SYSTEM "{canary_url}/xxe">', "&xxe;")),
        ("xxe parameter entity", with_doctype(f'<!ENTITY % p SYSTEM "{canary_url}/dtd"> %p;', "OK")),
        ("external dtd", f'<!DOCTYPE x SYSTEM "{canary_url}/ext.dtd"><x/>'.encode()),
        ("billion laughs", with_doctype("".join(laughs), "&lol9;")),
        ("quadratic blow-up", with_doctype(big_entity, "&big;" * 5000)),
        ("deep nesting", b"<a>" * deep + b"</a>" * deep),
        (
            "deep nesting inside the envelope",
            envelope_with.format(
                env=SOAP_ENV, p=PARTNER, status="<x>" * 5000 + "OK" + "</x>" * 5000
            ).encode(),
        ),
        ("huge body", execute_response([("OK", "x" * 1000, None)] * 3000)),
        ("huge text node", execute_response([("OK", "y" * 5_000_000, None)])),
        (
            "utf-16 doctype",
            with_doctype(f'<!ENTITY xxe SYSTEM "file://{secret_file}">', "&xxe;")
            .decode()
            .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
            .encode("utf-16"),
        ),
        (
            "utf-16 billion laughs",
            with_doctype("".join(laughs), "&lol9;")
            .decode()
            .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
            .encode("utf-16"),
        ),
        (
            "xinclude",
            envelope_with.format(
                env=SOAP_ENV,
                p=PARTNER,
                status=f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret_file}"/>',
            ).encode(),
        ),
        ("processing instruction", b'<?xml-stylesheet href="http://127.0.0.1:1/x"?>' + SEED_BODIES[0][38:]),
        ("nul bytes", SEED_BODIES[0].replace(b"Event", b"Ev\x00ent")),
        ("empty", b""),
        ("whitespace", b"   \r\n "),
        ("html 502", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
    ]
    return bodies


#: Attacks that may be parsed (their payload is ignored, never executed); every other one must be refused.
HARMLESS_ATTACKS = frozenset({"processing instruction", "xinclude"})

_TAGS = [
    b"OverallStatus",
    b"Results",
    b"StatusCode",
    b"ErrorCode",
    b"Envelope",
    b"Body",
    b"Fault",
    b"faultstring",
    b"RequestID",
    b"ExecuteResponseMsg",
    b"detail",
    b"apifault",
    b"Code",
]
_INSERTS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"\xff",
    b"\xc3",
    b"\x00",
    b'"',
    b"'",
    b'xmlns="urn:x"',
    b"9" * 5000,
    b"-1",
    b"12012",
    b"401",
    b"<Results/>",
    b"<Results><StatusCode>OK</StatusCode></Results>",
    b"<!DOCTYPE x>",
    b"&lol;",
]


def mutate_body(rng: random.Random, body: bytes) -> bytes:
    """One to four random edits of a body: flips, inserts, deletions, tag swaps, truncation, duplication."""
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        if not data:
            data.extend(rng.choice(_INSERTS))
            continue
        position = rng.randrange(len(data))
        choice = rng.randrange(8)
        if choice == 0:
            data[position] = rng.randrange(256)
        elif choice == 1:
            data[position:position] = rng.choice(_INSERTS)
        elif choice == 2:
            del data[position : position + rng.randint(1, 40)]
        elif choice == 3:
            data = data[: rng.randrange(len(data) + 1)]
        elif choice == 4:
            old, new = rng.sample(_TAGS, 2)
            data = bytearray(bytes(data).replace(old, new, rng.randint(1, 3)))
        elif choice == 5:
            start = rng.randrange(len(data))
            chunk = data[start : start + rng.randint(1, 200)]
            data[position:position] = chunk * rng.randint(1, 20)
        elif choice == 6:
            data = bytearray(bytes(data).replace(b"soap:", rng.choice([b"", b"s:", b"SOAP-ENV:", b"x:"]), 2))
        else:
            data = bytearray(
                bytes(data).replace(b"OK", rng.choice([b"", b"ok", b"Error", b"\xe2\x80\x8bOK"]), 1)
            )
    return bytes(data)


def random_response_case(rng: random.Random) -> tuple[bytes, int, str | None, int | None]:
    """A body, HTTP status, content type and expected result count, for one parser case."""
    if rng.random() < 0.1:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
    else:
        body = mutate_body(rng, rng.choice(SEED_BODIES))
    status = rng.choice([200, 200, 200, 500, 500, 502, 429, 404, 0, 999])
    content_type = rng.choice(
        ["text/xml; charset=utf-8", None, "text/html", "application/soap+xml", "x/\x00"]
    )
    expected = rng.choice([None, 1, 2, 3, 50, 0])
    return body, status, content_type, expected


@dataclass
class Tally:
    """Cases tried and what went wrong, by kind."""

    cases: int = 0
    crashes: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    logged_errors: Counter = field(default_factory=Counter)

    def crash(self, text: str) -> None:
        self.crashes.append(text[:300])


class Canary:
    """A loopback HTTP server that counts every hit: an XXE or DTD fetch would show up here."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"CANARY-NETWORK-CONTENT")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SECRET_MARKER = "FILE-CONTENT-MUST-NOT-LEAK-5f3a"


def check_parse(
    body: bytes, status: int, content_type: str | None, expected: int | None, tally: Tally
) -> None:
    """One parser case: a result, a fault or an ``SfmcError`` — nothing else, quickly, leaking nothing."""
    from app.sfmc.errors import SfmcError
    from app.sfmc.models import ExecuteResult, SoapFault
    from app.sfmc.response import parse_response

    tally.cases += 1
    started = time.perf_counter()
    try:
        result = parse_response(body, http_status=status, content_type=content_type, expected=expected)
    except SfmcError as exc:
        tally.outcomes[type(exc).__name__] += 1
        text = str(exc)
        if SECRET_MARKER in text or "CANARY-NETWORK" in text:
            tally.crash(f"entity content leaked into an error: {body[:80]!r}")
    except Exception as exc:
        tally.crash(f"{type(exc).__name__}: {exc} for body {body[:120]!r} (HTTP {status})")
    else:
        if not isinstance(result, ExecuteResult | SoapFault):
            tally.crash(f"parse_response returned {type(result).__name__}")
        tally.outcomes[type(result).__name__] += 1
        if SECRET_MARKER in repr(result) or "CANARY-NETWORK" in repr(result):
            tally.crash(f"entity content leaked into the result: {body[:80]!r}")
    elapsed = time.perf_counter() - started
    tally.slowest = max(tally.slowest, elapsed)
    if elapsed > SLOW_CASE_SECONDS:
        tally.crash(f"{elapsed:.1f} s for one body of {len(body)} bytes: {body[:80]!r}")


@contextlib.contextmanager
def attack_environment() -> Iterator[tuple[Path, Canary]]:
    """A local file holding a marker (for XXE) and a canary HTTP server (for network entities)."""
    canary = Canary()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        secret = Path(tmp) / "secret.txt"
        secret.write_text(SECRET_MARKER)
        try:
            yield secret, canary
        finally:
            canary.close()


def fuzz_parser(cases: int, rng: random.Random) -> Tally:
    """Every attack once, then ``cases`` random and mutated answers."""
    tally = Tally()
    with attack_environment() as (secret, canary):
        for name, body in attack_bodies(secret, canary.url):
            for status in (200, 500):
                before = len(tally.crashes)
                parsed_before = tally.outcomes["ExecuteResult"] + tally.outcomes["SoapFault"]
                check_parse(body, status, "text/xml; charset=utf-8", 1, tally)
                parsed = tally.outcomes["ExecuteResult"] + tally.outcomes["SoapFault"] - parsed_before
                if name not in HARMLESS_ATTACKS and parsed:
                    tally.crash(f"the {name} body was accepted as a result (HTTP {status})")
                if len(tally.crashes) > before:
                    tally.crashes[-1] = f"[{name}] {tally.crashes[-1]}"
        for _ in range(cases):
            check_parse(*random_response_case(rng), tally)
        if canary.hits:
            tally.crash(f"the parser fetched {canary.hits} over the network")
    return tally


# --- a hostile server in Marketing Cloud's place (the transport below the parser) ------------------------

#: Attacks the transport must end quickly with an SfmcError; "drip" is measured and reported separately.
HOSTILE_MODES = ("endless-chunked-body", "gzip-bomb", "header-flood", "huge-header-line")


def _gzip_bomb() -> bytes:
    """About 300 KB on the wire, 300 MB once inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    megabyte = b"\0" * (1024 * 1024)
    return b"".join(compressor.compress(megabyte) for _ in range(300)) + compressor.flush()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-attack is the expected outcome, not an error to print


class HostileServer:
    """Answers /v2/token correctly and the SOAP call with the attack named in ``mode``."""

    def __init__(self) -> None:
        self.mode = ""
        self.drip_bytes = 30
        self.bomb = _gzip_bomb()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    if self.path.startswith("/v2/token"):
                        self._token()
                    else:
                        getattr(self, "_" + owner.mode.replace("-", "_"))()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up on us: what it should do

            def _token(self) -> None:
                body = json.dumps(
                    {
                        "access_token": "hostile-token",
                        "token_type": "Bearer",
                        "expires_in": 1079,
                        "soap_instance_url": f"{owner.url}/",
                        "rest_instance_url": f"{owner.url}/",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _endless_chunked_body(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<a>" + b"x" * 65536 + b"</a>"
                for _ in range(2000):  # 130 MB if nobody stops reading
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

            def _gzip_bomb(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(owner.bomb)))
                self.end_headers()
                self.wfile.write(owner.bomb)

            def _header_flood(self) -> None:
                self.send_response(200)
                for index in range(2000):
                    self.send_header(f"X-Flood-{index}", "v" * 100)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _drip(self) -> None:
                # A well-formed start, then one byte every half second: each read is within any timeout.
                body = b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'>" + b" " * 10
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body) + 1000))
                self.end_headers()
                for byte in body[: owner.drip_bytes]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)

            def _huge_header_line(self) -> None:
                line = b"X-Big: " + b"a" * 5_000_000
                self.wfile.write(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_client(server: HostileServer, timeout: float = 2.0) -> Any:
    """The real ``SfmcClient`` pointed at ``server`` for both the token and the SOAP call."""
    from app.sfmc import SfmcClient

    return SfmcClient.from_config(
        {
            "SFMC_AUTH_URL": server.url,
            "SFMC_CLIENT_ID": "client",
            "SFMC_CLIENT_SECRET": "secret",
            "SFMC_ACCOUNT_ID": None,
            "SFMC_SOAP_URL": f"{server.url}/Service.asmx",
            "SFMC_TIMEOUT": timeout,
        }
    )


def fuzz_transport(tally: Tally) -> float:
    """Each hostile answer once (crash unless a quick SfmcError); returns the seconds a drip held a call."""
    from app.sfmc import LogUnsubEvent
    from app.sfmc.errors import SfmcError

    server = HostileServer()
    try:
        client = hostile_client(server)
        event = [LogUnsubEvent(Recipient(subscriber_key="someone", job_id="1"))]
        for mode in (*HOSTILE_MODES, "drip"):
            server.mode = mode
            tally.cases += 1
            started = time.monotonic()
            try:
                client.log_unsub_events(event)
            except SfmcError as exc:
                tally.outcomes[type(exc).__name__] += 1
            except Exception as exc:
                tally.crash(f"hostile server {mode}: {type(exc).__name__}: {exc}")
            else:
                tally.crash(f"hostile server {mode}: the call succeeded")
            elapsed = time.monotonic() - started
            if mode == "drip":
                return elapsed
            if elapsed > 3.0:
                tally.crash(f"hostile server {mode}: {elapsed:.1f} s")
    finally:
        server.close()
    return 0.0


# --- the app -------------------------------------------------------------------------------------------

_ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**31,
    2**63,
    10**30,
    1.5,
    float("1e308"),
    "",
    " ",
    "0",
    "-1",
    "1e5",
    "NaN",
    "x" * 5000,
    "\x00",
    "é",
    "😀",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "\u202e",
    "\ud7ff",
    [],
    [1],
    {},
    {"a": 1},
    "a,b",
    "  42  ",
    "٤٢",
]
_CLAIMS = ["v", "sk", "skb", "sid", "em", "j", "l", "b", "m", "loc", "exp", "iat", "nbf", "zz"]


def odd_claims(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with a few claims replaced by odd values, removed, or added."""
    claims = dict(base)
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(_CLAIMS)
        action = rng.random()
        if action < 0.2:
            claims.pop(name, None)
        elif name == "skb" and action < 0.5:
            raw = rng.choice([b"\xff\xfe", b"key\"with'quotes", b"", "ключ".encode()])
            claims[name] = rng.choice([base64.b64encode(raw).decode(), "%%%", "a"])
        elif name == "exp" and action < 0.6:
            claims[name] = rng.choice([0, int(time.time()) - 10, int(time.time()) + 3600, "soon", 1e20])
        else:
            claims[name] = rng.choice(_ODD_VALUES)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_NONE_HEADER = _b64(b'{"alg":"none","typ":"JWT"}')
_HS256_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')


def mutate_token(rng: random.Random, token: str, key: str) -> str:
    """A broken, forged or oddly-signed variant of a valid token."""
    header, payload, signature = token.split(".")
    choice = rng.randrange(12)
    if choice == 0:
        position = rng.randrange(len(token))
        return token[:position] + rng.choice("AZaz09-_.=+/ %\x00é") + token[position + 1 :]
    if choice == 1:
        return token[: rng.randrange(len(token))]
    if choice == 2:
        return f"{_NONE_HEADER}.{payload}."
    if choice == 3:
        with warnings.catch_warnings():  # PyJWT warns that the key is short for HS512: that is the point
            warnings.simplefilter("ignore")
            return jwt.encode(jwt.decode(token, key, algorithms=["HS256"]), key, algorithm="HS512")
    if choice == 4:
        return jwt.encode(
            {"v": 1, "sk": "bench-000001"}, "another-key-that-is-long-enough-0123456789", algorithm="HS256"
        )
    if choice == 5:
        return f"{header}.{_b64(rng.randbytes(rng.randrange(64)))}.{signature}"
    if choice == 6:
        return ".".join(rng.sample([header, payload, signature], 3))
    if choice == 7:
        return token * rng.randint(2, 60)
    if choice == 8:
        return f"{_b64(json.dumps(rng.choice(_ODD_VALUES)).encode())}.{payload}.{signature}"
    if choice == 9:
        return "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz.-_0123456789") for _ in range(rng.randrange(300))
        )
    if choice == 10:
        # Correctly signed, but the payload is not a JSON object.
        raw = json.dumps(rng.choice(_ODD_VALUES)).encode()
        signing_input = f"{_HS256_HEADER}.{_b64(raw)}"
        mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    return token + "." + rng.choice(["", "x", token])


_HEADERS: dict[str, list[str]] = {
    "Accept-Language": [
        "",
        "*",
        "de-DE,de;q=0.9",
        "xx-YY",
        "en;q=abc",
        "q=0.5",
        ",,,,",
        "é" * 50,
        "zh-Hant-TW",
        "de;q=1.5, fr;q=-1",
        "a" * 4000,
    ],
    "X-Request-ID": ["", "abc", "x" * 5000, "<script>", "\t", "../../"],
    "X-Forwarded-For": ["", "1.2.3.4", "::1, 999.1.1.1", "garbage", "1.1.1.1, " * 100],
    "X-Forwarded-Proto": ["https", "ftp", ""],
    "X-Forwarded-Host": ["evil.example", "", "a" * 300],
    "X-Forwarded-Prefix": ["/preferences", "//evil", "../"],
    "Cookie": ["session=x", "a=" + "b" * 3000, ";;;"],
    "Content-Type": [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded; charset=utf-16",
        "",
    ],
    "User-Agent": ["", "Mozilla/5.0", "x" * 2000],
    "Authorization": ["Bearer x", "Basic !!!"],
    "Range": ["bytes=0-1", "bytes=-1-"],
    "If-None-Match": ["*", '"x"'],
}
_FORM_NAMES = [
    "scope",
    "reason",
    "other_text",
    "without_job",
    "reason_text",
    "other",
    "reason_other",
    "List-Unsubscribe",
    "t",
    "lang",
    "csrf_token",
    "submit",
    "x",
]
_FORM_VALUES = [
    "list",
    "all",
    "LIST",
    "",
    "One-Click",
    "too_many",
    "not_relevant",
    "never_signed_up",
    "other",
    "no_longer_interested",
    "x" * 501,
    "x" * 20_000,
    "\x00",
    "é😀",
    "<b>",
    "\r\n",
    "list\x00",
]


def random_request(rng: random.Random, tokens: list[str], key: str) -> dict[str, Any]:
    """Arguments for the Flask test client's ``open``: method, path, query, body, headers."""
    token = rng.choice(tokens)
    roll = rng.random()
    if roll < 0.35:
        token = mutate_token(rng, token, key)
    elif roll < 0.6:
        claims = jwt.decode(token, key, algorithms=["HS256"])
        token = jwt.encode(odd_claims(rng, claims), key, algorithm="HS256")
    query: list[tuple[str, str]] = []  # urlencoded below: the test client takes a query string
    if rng.random() > 0.05:
        query.append(("t", token))
    if rng.random() < 0.2:
        query.append((rng.choice(["t", "lang", "x"]), rng.choice(_FORM_VALUES[:12])))
    method = rng.choices(
        ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"], [30, 50, 5, 5, 4, 3, 3]
    )[0]
    path = rng.choices(
        [
            "/unsubscribe",
            "/unsubscribe/",
            "/UNSUBSCRIBE",
            "/unsubscribe/x",
            "/",
            "/static/../config.py",
            "/healthz",
        ],
        [80, 4, 2, 2, 4, 4, 4],
    )[0]
    headers = {name: rng.choice(values) for name, values in _HEADERS.items() if rng.random() < 0.15}
    arguments: dict[str, Any] = {
        "method": method,
        "path": path,
        "query_string": urlencode(query, encoding="utf-8", errors="surrogatepass"),
        "headers": headers,
    }
    if method in ("POST", "PUT", "PATCH"):
        body_roll = rng.random()
        if body_roll < 0.7:
            fields = [(rng.choice(_FORM_NAMES), rng.choice(_FORM_VALUES)) for _ in range(rng.randint(0, 5))]
            if rng.random() < 0.5:
                fields.append(("scope", rng.choice(["list", "all"])))
            if headers.get("Content-Type", "").startswith("multipart") and rng.random() < 0.5:
                arguments["data"] = dict(fields)
                headers.pop("Content-Type")
            else:
                arguments["data"] = "&".join(f"{name}={value}" for name, value in fields).encode(
                    "utf-8", "surrogatepass"
                )
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body_roll < 0.8:
            arguments["data"] = b"List-Unsubscribe=One-Click"
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body_roll < 0.9:
            arguments["data"] = rng.randbytes(rng.choice([0, 10, 1000, 20_000, 70_000]))
        else:
            arguments["json"] = {"scope": rng.choice(_ODD_VALUES[:10])}
    return arguments


class AppUnderTest:
    """The app with a real emulator and a SQLite journal, and valid tokens for the emulator's data."""

    def __init__(self, app: Any, emulator: common.Emulator, tokens: list[str], key: str) -> None:
        self.app = app
        self.emulator = emulator
        self.tokens = tokens
        self.key = key

    def __repr__(self) -> str:  # short: hypothesis prints the fixture with every failing example
        return f"AppUnderTest(emulator={self.emulator.base_url}, {len(self.tokens)} tokens)"


@contextlib.contextmanager
def app_under_test(subscriptions: int = 300) -> Iterator[AppUnderTest]:
    """Start an emulator with ``subscriptions`` distinct people and build the app against it."""
    from app import create_app
    from config import SETTINGS

    with tempfile.TemporaryDirectory(prefix="fuzz-app-") as tmp:
        tmp_path = Path(tmp)
        people = common.generate_subscriptions(subscriptions)
        data_file = common.write_emulator_data(tmp_path / "emulator-data.json", people)
        emulator = common.start_emulator(tmp_path / "emulator.log", data_file)
        try:
            config = {
                key: value
                for key, value in common.app_env(
                    emulator, f"sqlite:///{tmp_path / 'journal.sqlite3'}"
                ).items()
                if key in {setting.name for setting in SETTINGS}
            }
            config.update({"PROPAGATE_EXCEPTIONS": True, "SFMC_TIMEOUT": "2", "LOG_LEVEL": "ERROR"})
            app = create_app(config)
            yield AppUnderTest(app, emulator, [common.mint_token(p) for p in people], common.SIGNING_KEY)
        finally:
            emulator.stop()


def check_request(client: Any, arguments: dict[str, Any], tally: Tally) -> None:
    """One request: any 5xx or exception is a server error."""
    tally.cases += 1
    try:
        response = client.open(**arguments)
    except Exception as exc:
        tally.crash(f"{type(exc).__name__}: {exc} for {_describe(arguments)}")
        return
    tally.outcomes[response.status_code] += 1
    if response.status_code >= 500:
        tally.crash(f"HTTP {response.status_code} for {_describe(arguments)}")


def _describe(arguments: dict[str, Any]) -> str:
    shown = dict(arguments)
    if isinstance(shown.get("data"), bytes | str) and len(shown["data"]) > 200:
        shown["data"] = f"<{len(shown['data'])} bytes>"
    return repr(shown)[:400]


class ErrorLogCounter(logging.Handler):
    """Counts ERROR records the app (``app.*`` loggers) logs: an exception that delivery or a view swallows
    and logs is a failure even when the page answered 4xx or 200."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "app" or record.name.startswith("app."):
            exc = f" ({record.exc_info[0].__name__})" if record.exc_info and record.exc_info[0] else ""
            self.messages[f"{record.name}: {record.getMessage()[:80]}{exc}"] += 1


def journal_rows(target: AppUnderTest) -> dict[int, Any]:
    """Every journal entry now, by id: a GET, HEAD or OPTIONS must leave these exactly as they were."""
    return {entry.id: entry for entry in target.app.extensions["journal"].iter_entries()}


def changed_rows(before: dict[int, Any], after: dict[int, Any]) -> int:
    """Journal rows added, changed or removed between two ``journal_rows`` snapshots."""
    return sum(1 for entry_id in before.keys() | after.keys() if before.get(entry_id) != after.get(entry_id))


@dataclass
class SafeMethodEffects:
    """What the GET, HEAD and OPTIONS requests changed: UnsubEvents logged, journal rows added or changed."""

    events: int = 0
    journal_rows: int = 0


def fuzz_app(cases: int, rng: random.Random) -> tuple[Tally, SafeMethodEffects]:
    """``cases`` random requests; the tally, and what the safe methods changed (nothing, or a failure)."""
    tally = Tally()
    effects = SafeMethodEffects()
    errors = ErrorLogCounter()
    logging.getLogger().addHandler(errors)
    with app_under_test() as target:
        client = target.app.test_client()
        # Safe methods first: however odd, none of them may unsubscribe anyone or journal anything.
        safe = [
            a
            for a in (random_request(rng, target.tokens, target.key) for _ in range(cases * 3))
            if a["method"] in ("GET", "HEAD", "OPTIONS")
        ][: cases // 3]
        rows_before = journal_rows(target)
        for arguments in safe:
            check_request(client, arguments, tally)
        effects.events = len(target.emulator.state()["events"])
        effects.journal_rows = changed_rows(rows_before, journal_rows(target))
        for _ in range(cases - len(safe)):
            check_request(client, random_request(rng, target.tokens, target.key), tally)
    logging.getLogger().removeHandler(errors)
    tally.logged_errors = errors.messages
    return tally, effects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=3000, help="random cases per target (default 3000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    started = time.monotonic()
    print(f"bench/fuzz.py: seed {seed}", flush=True)
    parser_tally = fuzz_parser(args.cases, random.Random(seed))
    drip_seconds = fuzz_transport(parser_tally)
    print(f"parser and transport done in {time.monotonic() - started:.0f} s; now the app", flush=True)
    app_tally, safe = fuzz_app(args.cases, random.Random(seed + 1))

    for label, tally in (("response parser", parser_tally), ("app", app_tally)):
        for crash in tally.crashes[:10]:
            print(f"  {label} FAILURE: {crash}")
    print()
    print(f"seed                              {seed}")
    print(f"parser + transport cases tried    {parser_tally.cases}")
    print(f"parser outcomes                   {dict(parser_tally.outcomes.most_common())}")
    print(f"parser slowest case               {parser_tally.slowest * 1000:.1f} ms")
    print(f"parser + transport crashes        {len(parser_tally.crashes)}")
    print(
        f"a server dripping 1 byte / 0.5 s  held one call {drip_seconds:.0f} s with SFMC_TIMEOUT 2 s "
        "(the client's total deadline per call is 2 x SFMC_TIMEOUT)"
    )
    print(f"app requests tried                {app_tally.cases}")
    print(f"app statuses                      {dict(sorted(app_tally.outcomes.items()))}")
    print(f"UnsubEvents from GET/HEAD/OPTIONS {safe.events}")
    print(f"journal rows by GET/HEAD/OPTIONS  {safe.journal_rows}")
    print(f"app ERROR log records             {sum(app_tally.logged_errors.values())}")
    for message, count in app_tally.logged_errors.most_common(5):
        print(f"  app FAILURE: {count} x {message}")
    print(f"app server errors (5xx/crash)     {len(app_tally.crashes)}")
    print(f"total time                        {time.monotonic() - started:.0f} s")
    drip_held_too_long = drip_seconds > 2 * 2 + 1  # the deadline plus a second of slack
    failed = (
        parser_tally.crashes
        or app_tally.crashes
        or app_tally.logged_errors
        or safe.events
        or safe.journal_rows
        or drip_held_too_long
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
