"""Our own Execute XSD (app/sfmc/schema) says exactly what the real partner WSDL says about those types."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from wsdl_schema import load_wsdl_schema

from app.sfmc.schema import OBJECTS_XSD_PATH, XSD_PATH, execute_schema

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


#: The types of objects.xsd that keep only some of the WSDL's elements (each marked "subset" there).
SUBSETS = {
    ("complexType", "APIObject"),
    ("complexType", "Subscriber"),
    ("complexType", "SubscriberList"),
    ("complexType", "Options"),
    ("complexType", "UpdateOptions"),
    ("complexType", "RetrieveRequest"),
}


def is_subset(ours: tuple, theirs: tuple) -> bool:
    """``ours`` is ``theirs`` with some optional elements of its sequences left out, the rest in the same
    order and identical: whatever is valid against ours is valid against the WSDL's type."""
    if ours[:2] != theirs[:2]:
        return False
    if ours[0] != "sequence":
        return len(ours[2]) == len(theirs[2]) and all(map(is_subset, ours[2], theirs[2]))
    remaining = iter(theirs[2])
    for element in ours[2]:
        for candidate in remaining:
            if candidate == element:
                break
            if ("minOccurs", "0") not in candidate[1]:
                return False  # a required element of the WSDL left out
        else:
            return False  # not found (in order)
    return all(("minOccurs", "0") in rest[1] for rest in remaining)


def test_every_type_of_our_objects_xsd_matches_the_wsdl_or_is_a_subset(shared_dir: Path) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(OBJECTS_XSD_PATH), parser).getroot()
    ours = {key: outline for key, outline in components(root).items() if key[0] != "include"}
    wsdl = etree.parse(str(shared_dir / "sfmc" / "etframework.wsdl"), parser).getroot()
    theirs = components(wsdl.find(f"{{{WSDL}}}types/{{{XSD}}}schema"))
    assert ours.keys() >= SUBSETS | {("element", "RetrieveRequestMsg"), ("element", "UpdateRequest")}
    for key, outline in ours.items():
        if key in SUBSETS:
            assert outline != theirs[key] and is_subset(outline, theirs[key]), (
                f"{key}: not a subset of the WSDL"
            )
        else:
            assert outline == theirs[key], f"{key} differs from the WSDL"


def test_the_subset_check_can_fail() -> None:
    wsdl = (
        "sequence",
        (),
        (("element", (("minOccurs", "0"), ("name", "A")), ()), ("element", (("name", "B"),), ())),
    )
    assert is_subset(("sequence", (), (wsdl[2][1],)), wsdl)  # optional A left out
    assert not is_subset(("sequence", (), (wsdl[2][0],)), wsdl)  # required B left out
    assert not is_subset(("sequence", (), (wsdl[2][1], wsdl[2][0])), wsdl)  # order changed
