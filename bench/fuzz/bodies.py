"""Marketing Cloud answers for the parser fuzzer: well-formed seeds, the classic XML attacks, mutations.

Built with lxml where they are well-formed; the attacks are byte strings on purpose (a DOCTYPE, entities,
UTF-16), since no well-behaved builder would write them.
"""

from __future__ import annotations

import random
from pathlib import Path

from lxml import etree

PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


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
