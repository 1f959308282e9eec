"""One POST to ``Service.asmx``: injected faults first, then the action, the envelope, the token, the call.

The action comes from the ``SOAPAction`` header (bare or quoted), else from a SOAP 1.2 ``Content-Type``'s
``action`` parameter, else from the envelope's WS-Addressing ``Action`` (SOAP 1.2 clients send no header).
Answers and faults go back in the request's SOAP version.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from typing import TYPE_CHECKING

from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import soap
from .answers import retrieve_response, update_response
from .envelope import Envelope, read_envelope, soap_version
from .retrieve import retrieve
from .soap_faults import fault
from .update import update
from .wire_read import read_retrieve, read_update

if TYPE_CHECKING:
    from .server import Emulator

ACTIONS = ("Execute", "Retrieve", "Update")


def _xml(body: bytes, version: str = "1.1", status: int = 200) -> Response:
    return Response(body, status, content_type=soap.CONTENT_TYPES[version])


def soap_call(emulator: Emulator) -> Response:
    """Handle one POST to Service.asmx."""
    emulator.count("soap_calls")
    actor = request.base_url
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        body = fault("soap:Client", f"The request is larger than {soap.MAX_BODY_BYTES} bytes.", actor)
        return _xml(body, status=413)
    version = soap_version(data)

    with emulator.lock:
        config = emulator.faults
        injected = config.draw()
        if injected is not None:
            emulator.stats["faults_injected"] += 1
            emulator.faults_by_kind[injected] = emulator.faults_by_kind.get(injected, 0) + 1
    if config.latency_ms:
        time.sleep(config.latency_ms / 1000)
    if injected == "drop":
        _drop_connection()
        return Response(b"", 500)
    if injected == "outage":
        body = fault(
            "soap:Server", "Unplanned Outage", actor, apifault=(2, "Unplanned Outage"), version=version
        )
        return _xml(body, version, 500)
    if injected == "rate_limited":
        body = fault("soap:Server", "Rate Limited", actor, apifault=(17, "Rate Limited"), version=version)
        return _xml(body, version, 500)
    if injected in ("token_expired", "login_failed"):
        text = "Token Expired" if injected == "token_expired" else "Login failed"
        return _xml(fault("q0:Security", text, actor, with_detail=False, version=version), version, 500)
    if injected == "html_502":
        return Response(_BAD_GATEWAY_PAGE, 502, content_type="text/html")

    response = _handle(emulator, data, actor, version)
    if injected == "timeout":
        # The call was processed; the answer comes too late for a client with a shorter read timeout.
        time.sleep(config.timeout_ms / 1000)
    return response


def _header_action() -> str | None:
    action = request.headers.get("SOAPAction", "").strip()
    if not action:
        content_type = request.headers.get("Content-Type", "")
        for parameter in content_type.split(";")[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "action":
                action = value.strip()
    if len(action) >= 2 and action.startswith('"') and action.endswith('"'):
        action = action[1:-1]
    return action or None


def _unknown_action(action: str | None, actor: str, version: str) -> Response:
    text = f"Server did not recognize the value of HTTP Header SOAPAction: {action or ''}."
    return _xml(fault("soap:Client", text, actor, version=version), version, 500)


def _handle(emulator: Emulator, data: bytes, actor: str, version: str) -> Response:
    action = _header_action()
    if action is not None and action not in ACTIONS:
        return _unknown_action(action, actor, version)
    try:
        envelope = read_envelope(data)
    except soap.SoapClientFault as exc:
        return _xml(fault("soap:Client", exc.faultstring, actor, version=version), version, 500)
    version = envelope.version
    action = action or envelope.action
    if action not in ACTIONS:
        return _unknown_action(action, actor, version)
    try:
        if action == "Execute":
            requests = soap.read_execute_requests(envelope.payload)
        elif action == "Retrieve":
            query = read_retrieve(envelope.payload)
        else:
            objects = read_update(envelope.payload)
    except soap.SoapClientFault as exc:
        return _xml(fault("soap:Client", exc.faultstring, actor, version=version), version, 500)

    mid, problem = emulator.check_token(envelope.token)
    if problem is not None or mid is None:
        body = fault(
            "q0:Security",
            problem or "Login failed",
            actor,
            envelope.message_id,
            with_detail=False,
            version=version,
        )
        return _xml(body, version, 500)

    if action == "Execute":
        return _execute(emulator, mid, requests, envelope)
    if action == "Retrieve":
        with emulator.lock:
            answer = retrieve(emulator.account, mid, query, emulator.page_size, emulator.continuations)
            counts = emulator.stats["retrieve"]
            counts[answer.counted_as] = counts.get(answer.counted_as, 0) + 1
        return _xml(retrieve_response(answer, envelope.message_id, version), version)
    with emulator.lock:
        outcomes = update(emulator.account, mid, objects)
        emulator.stats["update"] += 1
        emulator.stats["update_objects"] += len(objects)
    body = update_response(outcomes, str(uuid.uuid4()), envelope.message_id, version)
    return _xml(body, version)


def _execute(
    emulator: Emulator, mid: int, requests: list[soap.ParsedRequest], envelope: Envelope
) -> Response:
    with emulator.lock:
        results = [
            soap.ExecuteResult("Error", soap.OBJECT_REFERENCE)
            if item.object_reference_error
            else emulator.account.execute(mid, item.name, item.client_id, item.parameters)
            for item in requests
        ]
        emulator.stats["requests_executed"] += len(requests)
        emulator.stats["execute"] += 1
    body = soap.execute_response(results, str(uuid.uuid4()), envelope.message_id, envelope.version)
    return _xml(body, envelope.version)


def _drop_connection() -> None:
    """Close the client's TCP connection without an HTTP answer (the ``drop`` fault).

    Werkzeug's server hands the connection's socket to the app as ``werkzeug.socket``; shutting it down sends
    FIN, so the client sees the connection closed with no status line. Werkzeug's later attempt to write the
    (ignored) response fails with a ConnectionError, which it treats as a dropped connection and does not log.
    """
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("the drop fault needs the emulator's own server (python -m emulator)")
    with contextlib.suppress(OSError):  # the client may have gone already
        sock.shutdown(socket.SHUT_RDWR)


_BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
