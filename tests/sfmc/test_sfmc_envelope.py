"""The envelope builder: the exact tree Marketing Cloud expects, for every field combination, in order."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc.envelope import execute_envelope, redacted, serialise
from app.sfmc.errors import SfmcRequestError
from app.sfmc.models import LogUnsubEvent
from app.sfmc.schema import check_envelope

PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
FUEL = "http://exacttarget.com"

FULL_REQUEST = LogUnsubEvent(
    Recipient(
        subscriber_key="sub-123",
        subscriber_id="123456",
        email="jane@example.com",
        job_id="18099",
        list_id="17914",
        batch_id="0",
        mid="7000123",
    ),
    reason="Profile Center Unsubscribe",
)


Tree = tuple[str, tuple[tuple[str, str], ...], str, str, tuple["Tree", ...]]


def tree(xml: bytes) -> Tree:
    """The document as a nested (tag, attributes, text, tail, children) tuple, names in Clark notation:
    equal when the trees are, whatever prefixes either side chose; nesting, attributes, order and text
    all count (whitespace-only text between elements does not)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)

    def node(element: etree._Element) -> Tree:
        return (
            element.tag,
            tuple(sorted(element.attrib.items())),
            (element.text or "").strip(),
            (element.tail or "").strip(),
            tuple(node(child) for child in element),
        )

    return node(etree.fromstring(xml, parser))


def values(envelope: etree._Element) -> list[list[tuple[str, str]]]:
    """The (Name, Value) pairs of each Requests element, read back from the serialised bytes."""
    tree = etree.fromstring(serialise(envelope))
    return [
        [
            (p.findtext(f"{{{PARTNER}}}Name"), p.findtext(f"{{{PARTNER}}}Value"))
            for p in request.iterfind(f"{{{PARTNER}}}Parameters")
        ]
        for request in tree.iter(f"{{{PARTNER}}}Requests")
    ]


def test_full_request_is_the_documented_envelope() -> None:
    expected = f"""
    <s:Envelope xmlns:s="{SOAP_ENV}">
      <s:Header><fueloauth xmlns="{FUEL}">TOKEN</fueloauth></s:Header>
      <s:Body>
        <p:ExecuteRequestMsg xmlns:p="{PARTNER}">
          <p:Requests>
            <p:Client><p:ID>7000123</p:ID></p:Client>
            <p:Name>LogUnsubEvent</p:Name>
            <p:Parameters><p:Name>SubscriberID</p:Name><p:Value>123456</p:Value></p:Parameters>
            <p:Parameters><p:Name>SubscriberKey</p:Name><p:Value>sub-123</p:Value></p:Parameters>
            <p:Parameters><p:Name>EmailAddress</p:Name><p:Value>jane@example.com</p:Value></p:Parameters>
            <p:Parameters><p:Name>JobID</p:Name><p:Value>18099</p:Value></p:Parameters>
            <p:Parameters><p:Name>ListID</p:Name><p:Value>17914</p:Value></p:Parameters>
            <p:Parameters><p:Name>BatchID</p:Name><p:Value>0</p:Value></p:Parameters>
            <p:Parameters><p:Name>Reason</p:Name><p:Value>Profile Center Unsubscribe</p:Value></p:Parameters>
          </p:Requests>
        </p:ExecuteRequestMsg>
      </s:Body>
    </s:Envelope>""".encode()
    built = serialise(execute_envelope("TOKEN", [FULL_REQUEST]))
    # Prefixes differ (ours: soap and default namespaces); the trees compare meaning, not spelling.
    assert tree(built) == tree(expected)


def test_suds_example_and_our_envelope_mean_the_same(shared_dir: Path) -> None:
    """The official SDK's envelope (other prefixes) and ours for the same request are the same tree."""
    suds = (shared_dir / "sfmc" / "examples" / "execute-request-suds.xml").read_bytes()
    ours = serialise(
        execute_envelope(
            "ACCESS_TOKEN",
            [
                LogUnsubEvent(
                    Recipient(subscriber_key="sub-123", job_id="18099", list_id="17914", batch_id="0"),
                    reason="Profile Center Unsubscribe",
                )
            ],
        )
    )
    assert tree(ours) == tree(suds)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (LogUnsubEvent(Recipient(subscriber_key="k")), [("SubscriberKey", "k")]),
        (
            LogUnsubEvent(Recipient(email="a@example.com", job_id="1")),
            [("EmailAddress", "a@example.com"), ("JobID", "1")],
        ),
        (
            LogUnsubEvent(Recipient(batch_id="3", subscriber_id="9"), reason="r"),
            [("SubscriberID", "9"), ("BatchID", "3"), ("Reason", "r")],
        ),
        (LogUnsubEvent(), []),
    ],
)
def test_only_the_fields_set_are_sent_in_documented_order(
    request_: LogUnsubEvent, expected: list[tuple[str, str]]
) -> None:
    assert values(execute_envelope("t", [request_])) == [expected]


def test_the_tree_comparison_sees_nesting_and_attributes() -> None:
    """The check above can fail: the same tags and texts in the same order, but one element nested one
    level off, or one extra attribute, is a different envelope."""
    flat = b"<a><b>1</b><c>2</c></a>"
    assert tree(flat) == tree(b"<a>\n  <b>1</b>\n  <c>2</c>\n</a>")
    assert tree(b'<x:a xmlns:x="urn:n"><x:b/></x:a>') == tree(b'<a xmlns="urn:n"><b/></a>')
    assert tree(flat) != tree(b"<a><b>1<c>2</c></b></a>")
    assert tree(flat) != tree(b'<a><b x="y">1</b><c>2</c></a>')


def test_client_id_only_with_a_mid_and_before_name() -> None:
    with_mid = etree.fromstring(
        serialise(execute_envelope("t", [LogUnsubEvent(Recipient(email="a@b.c", mid="42"))]))
    )
    without = etree.fromstring(serialise(execute_envelope("t", [LogUnsubEvent(Recipient(email="a@b.c"))])))
    children = [etree.QName(c).localname for c in with_mid.find(f".//{{{PARTNER}}}Requests")]
    assert children == ["Client", "Name", "Parameters"]
    assert with_mid.findtext(f".//{{{PARTNER}}}Client/{{{PARTNER}}}ID") == "42"
    assert without.find(f".//{{{PARTNER}}}Client") is None


@pytest.mark.parametrize(
    "text",
    [
        "Zoë <b>&amp;</b> \"quoted\" 'single'",
        "日本語の理由",
        "emoji 📨 and RTL שלום",
        "]]> and &#x27;",
        "tab\tnew\nline",
    ],
)
def test_any_unicode_value_round_trips_exactly(text: str) -> None:
    envelope = execute_envelope("t", [LogUnsubEvent(Recipient(subscriber_key=text), reason=text)])
    assert values(envelope) == [[("SubscriberKey", text), ("Reason", text)]]


def test_characters_xml_cannot_carry() -> None:
    """A free-text reason loses them; an identifier with them is refused rather than changed."""
    envelope = execute_envelope(
        "t", [LogUnsubEvent(Recipient(subscriber_key="k"), reason="bad\x00\x0b char\x1f")]
    )
    assert values(envelope) == [[("SubscriberKey", "k"), ("Reason", "bad char")]]
    with pytest.raises(SfmcRequestError, match="SubscriberKey"):
        execute_envelope("t", [LogUnsubEvent(Recipient(subscriber_key="k\x00"))])


@pytest.mark.parametrize("mid", ["abc", "-5", "0", "1.5", "99999999999", ""])
def test_a_mid_that_is_not_a_business_unit_number_is_refused(mid: str) -> None:
    with pytest.raises(SfmcRequestError, match="Client/ID"):
        execute_envelope("t", [LogUnsubEvent(Recipient(email="a@b.c", mid=mid))])


def test_one_to_fifty_requests_per_call() -> None:
    with pytest.raises(SfmcRequestError, match="at least one"):
        execute_envelope("t", [])
    with pytest.raises(SfmcRequestError, match="51 requests"):
        execute_envelope("t", [LogUnsubEvent(Recipient(subscriber_key="k"))] * 51)
    batch = [LogUnsubEvent(Recipient(subscriber_key=f"key-{i}")) for i in range(50)]
    assert [v[0][1] for v in values(execute_envelope("t", batch))] == [f"key-{i}" for i in range(50)]


BATCH = [
    FULL_REQUEST,
    *(LogUnsubEvent(Recipient(subscriber_key=f"key-{i}", job_id=str(i)), reason="Zoë ✓") for i in range(48)),
    LogUnsubEvent(),
]


@pytest.mark.parametrize(
    "requests", [[FULL_REQUEST], [LogUnsubEvent(Recipient(email="x@example.com"))], BATCH]
)
def test_envelopes_validate_against_the_real_wsdl_and_our_xsd(
    shared_dir: Path, requests: list[LogUnsubEvent]
) -> None:
    envelope = execute_envelope("TOKEN", requests)
    check_envelope(envelope)  # our own copy of the schema: what the product checks without ../shared
    payload = validate_body(load_wsdl_schema(shared_dir), serialise(envelope))
    assert len(payload) == len(requests)


def test_serialise_is_utf8_with_declaration() -> None:
    data = serialise(execute_envelope("t", [LogUnsubEvent(Recipient(), reason="Zoë")]))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "Zoë".encode() in data


def test_redacted_copy_hides_token_and_personal_data() -> None:
    envelope = execute_envelope("SECRET-TOKEN", [FULL_REQUEST])
    text = redacted(envelope).decode()
    assert "SECRET-TOKEN" not in text
    assert "jane@example.com" not in text and "j•••@example.com" in text
    assert "sub-123" not in text and "Profile Center Unsubscribe" not in text
    assert "18099" in text  # job context stays: it is what an operator debugs
    assert b"SECRET-TOKEN" in serialise(envelope)  # the original tree is untouched
