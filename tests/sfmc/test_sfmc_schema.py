"""Our own Execute XSD (app/sfmc/schema) says exactly what the real partner WSDL says about those types."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from wsdl_schema import load_wsdl_schema

from app.sfmc.schema import XSD_PATH, execute_schema

XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def shape(element: etree._Element) -> tuple:
    """A comparable outline of a schema component: names, attributes (defaults made explicit), children.

    Annotations and comments are documentation, not structure, and are left out.
    """
    attributes = {"minOccurs": "1", "maxOccurs": "1"} if etree.QName(element).localname == "element" else {}
    attributes.update(element.attrib)
    children = tuple(
        shape(child)
        for child in element.iterchildren(etree.Element)
        if etree.QName(child).localname != "annotation"
    )
    return etree.QName(element).localname, tuple(sorted(attributes.items())), children


def components(schema: etree._Element) -> dict[tuple[str, str], tuple]:
    return {
        (etree.QName(child).localname, child.get("name")): shape(child)
        for child in schema.iterchildren(etree.Element)
    }


def test_every_type_of_our_xsd_matches_the_wsdl(shared_dir: Path) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    ours = components(etree.parse(str(XSD_PATH), parser).getroot())
    wsdl = etree.parse(str(shared_dir / "sfmc" / "etframework.wsdl"), parser).getroot()
    theirs = components(wsdl.find(f"{{{WSDL}}}types/{{{XSD}}}schema"))
    assert set(ours) == {
        ("complexType", "ClientID"),
        ("complexType", "APIProperty"),
        ("complexType", "ExecuteRequest"),
        ("complexType", "ExecuteResponse"),
        ("element", "ExecuteRequestMsg"),
        ("element", "ExecuteResponseMsg"),
    }
    for key, outline in ours.items():
        assert outline == theirs[key], f"{key} differs from the WSDL"


def test_both_schemas_judge_the_real_examples_alike(shared_dir: Path) -> None:
    wsdl_schema = load_wsdl_schema(shared_dir)
    for name in ("execute-request-suds.xml", "execute-response-ok.xml"):
        envelope = etree.parse(str(shared_dir / "sfmc" / "examples" / name)).getroot()
        payload = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
        assert execute_schema().validate(payload) and wsdl_schema.validate(etree.ElementTree(payload))
        # Move the first child of the first element with mixed children to the end: order broken.
        target = payload if len({child.tag for child in payload}) > 1 else payload[0]
        target.append(target[0])
        assert not execute_schema().validate(payload) and not wsdl_schema.validate(etree.ElementTree(payload))
