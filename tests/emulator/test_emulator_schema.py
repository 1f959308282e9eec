"""The emulator's own schema (emulator/schema/execute.xsd) agrees with the WSDL on sample documents.

The emulator validates requests with its own copy because ../shared does not exist on users' machines; this
test is what keeps the copy faithful.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emu_helpers import PARTNER, SOAP_ENV
from lxml import etree
from wsdl_schema import load_wsdl_schema

from tests.conftest import ROOT

OWN_SCHEMA = ROOT / "emulator" / "schema" / "execute.xsd"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _doc(inner: str, root: str = "ExecuteRequestMsg") -> bytes:
    return f'<{root} xmlns="{PARTNER}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{inner}</{root}>'.encode()


PARAM = "<Parameters><Name>SubscriberKey</Name><Value>demo-001</Value></Parameters>"
SAMPLES = [
    # (id, document, valid?)
    ("empty-request-msg", _doc(""), True),
    ("one-request", _doc(f"<Requests><Name>LogUnsubEvent</Name>{PARAM}</Requests>"), True),
    (
        "client-id",
        _doc(f"<Requests><Client><ID>510001001</ID></Client><Name>LogUnsubEvent</Name>{PARAM}</Requests>"),
        True,
    ),
    (
        "deprecated-client-id",
        _doc("<Requests><Client><ClientID>1</ClientID><ID>2</ID></Client></Requests>"),
        True,
    ),
    (
        "xsi-type",
        _doc('<Requests xmlns:p="' + PARTNER + '" xsi:type="p:ExecuteRequest"><Name>x</Name></Requests>'),
        True,
    ),
    (
        "many-requests",
        _doc("".join(f"<Requests><Name>LogUnsubEvent</Name>{PARAM}</Requests>" for _ in range(50))),
        True,
    ),
    ("name-after-parameters", _doc(f"<Requests>{PARAM}<Name>LogUnsubEvent</Name></Requests>"), False),
    ("client-after-name", _doc("<Requests><Name>x</Name><Client><ID>1</ID></Client></Requests>"), False),
    ("two-names", _doc("<Requests><Name>x</Name><Name>y</Name></Requests>"), False),
    ("value-missing", _doc("<Requests><Parameters><Name>a</Name></Parameters></Requests>"), False),
    (
        "value-before-name",
        _doc("<Requests><Parameters><Value>v</Value><Name>a</Name></Parameters></Requests>"),
        False,
    ),
    ("client-id-not-int", _doc("<Requests><Client><ID>abc</ID></Client></Requests>"), False),
    ("unknown-element", _doc("<Requests><Options/></Requests>"), False),
    ("lowercase-name", _doc("<Requests><name>x</name></Requests>"), False),
    ("unqualified-child", _doc('<Requests><Name xmlns="">x</Name></Requests>'), False),
    (
        "ok-response",
        _doc(
            "<OverallStatus>OK</OverallStatus><RequestID>r</RequestID><Results><StatusCode>OK</StatusCode>"
            "<StatusMessage>Event posted</StatusMessage></Results>",
            "ExecuteResponseMsg",
        ),
        True,
    ),
    (
        "error-response",
        _doc(
            "<OverallStatus>Error</OverallStatus><Results><StatusCode>Error</StatusCode><StatusMessage>m</StatusMessage><ErrorCode>401</ErrorCode></Results>",
            "ExecuteResponseMsg",
        ),
        True,
    ),
    (
        "response-with-properties",
        _doc(
            "<OverallStatus>OK</OverallStatus><Results><StatusCode>OK</StatusCode><OrdinalID>0</OrdinalID><Results><Name>a</Name><Value>b</Value></Results></Results>",
            "ExecuteResponseMsg",
        ),
        True,
    ),
    ("response-no-status", _doc("<RequestID>r</RequestID>", "ExecuteResponseMsg"), False),
    (
        "response-status-after-id",
        _doc("<RequestID>r</RequestID><OverallStatus>OK</OverallStatus>", "ExecuteResponseMsg"),
        False,
    ),
    (
        "error-code-before-message",
        _doc(
            "<OverallStatus>Error</OverallStatus><Results><ErrorCode>401</ErrorCode><StatusMessage>m</StatusMessage></Results>",
            "ExecuteResponseMsg",
        ),
        False,
    ),
    (
        "error-code-not-int",
        _doc(
            "<OverallStatus>Error</OverallStatus><Results><ErrorCode>x</ErrorCode></Results>",
            "ExecuteResponseMsg",
        ),
        False,
    ),
]


@pytest.fixture(scope="module")
def own_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(OWN_SCHEMA), _PARSER))


@pytest.mark.parametrize(("document", "valid"), [pytest.param(d, v, id=i) for i, d, v in SAMPLES])
def test_own_schema_agrees_with_the_wsdl(own_schema, shared_dir: Path, document: bytes, valid: bool) -> None:
    tree = etree.fromstring(document, _PARSER)
    wsdl_verdict = load_wsdl_schema(shared_dir).validate(tree)
    own_verdict = own_schema.validate(tree)
    assert (own_verdict, wsdl_verdict) == (valid, valid)


@pytest.mark.parametrize("example", ["execute-request-suds.xml", "execute-response-ok.xml"])
def test_own_schema_accepts_the_real_examples(own_schema, shared_dir: Path, example: str) -> None:
    envelope = etree.parse(str(shared_dir / "sfmc" / "examples" / example), _PARSER).getroot()
    [payload] = envelope.find(f"{{{SOAP_ENV}}}Body")
    own_schema.assertValid(etree.fromstring(etree.tostring(payload), _PARSER))


def test_own_schema_types_match_the_wsdl_definitions(shared_dir: Path) -> None:
    """Each complexType of our copy is the WSDL's, element for element (names, types, occurrences)."""
    xsd = "http://www.w3.org/2001/XMLSchema"
    own = etree.parse(str(OWN_SCHEMA), _PARSER).getroot()
    wsdl = etree.parse(str(shared_dir / "sfmc" / "etframework.wsdl"), _PARSER).getroot()
    wsdl_schema = wsdl.find(f"{{http://schemas.xmlsoap.org/wsdl/}}types/{{{xsd}}}schema")

    def shape(schema: etree._Element, kind: str, name: str) -> list[tuple]:
        definition = schema.find(f"{{{xsd}}}{kind}[@name='{name}']")
        assert definition is not None, name
        return [
            (
                e.get("name"),
                (e.get("type") or "").split(":")[-1],
                e.get("minOccurs", "1"),
                e.get("maxOccurs", "1"),
            )
            for e in definition.iter(f"{{{xsd}}}element")
        ]

    for kind, name in [
        ("complexType", "ClientID"),
        ("complexType", "APIProperty"),
        ("complexType", "ExecuteRequest"),
        ("complexType", "ExecuteResponse"),
        ("element", "ExecuteRequestMsg"),
        ("element", "ExecuteResponseMsg"),
    ]:
        assert shape(own, kind, name) == shape(wsdl_schema, kind, name), name
