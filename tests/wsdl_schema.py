"""Hold XML bodies to the real partner API WSDL (``../shared/sfmc/etframework.wsdl``). Test helper only.

The WSDL's ``<types>`` schema compiles with ``lxml.etree.XMLSchema`` once the ``<import>`` of the
unpublished ``ETFrameworkFault.xsd`` is dropped and ``xmlns:tns`` is declared on the schema element
itself (the WSDL declares it only on ``<definitions>``, which the schema compiler does not see).
Import it from any test as ``from wsdl_schema import load_wsdl_schema, validate_body``
(``tests/`` is on ``sys.path`` through ``tests/conftest.py``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"

_MAX_BYTES = 5 * 1024 * 1024


def _parser() -> etree.XMLParser:
    """A parser that refuses DTDs, entities and network access, as every XML reader of the project does."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _parse(data: bytes) -> etree._Element:
    if len(data) > _MAX_BYTES:
        raise ValueError(f"document larger than {_MAX_BYTES} bytes")
    return etree.fromstring(data, _parser())


@functools.cache
def _load(wsdl_path: Path) -> etree.XMLSchema:
    definitions = _parse(wsdl_path.read_bytes())
    schema = definitions.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    if schema is None:
        raise ValueError(f"{wsdl_path} has no <types><schema>")
    # A fresh root element carries the namespace declarations the schema's QName attribute values need.
    nsmap = {**schema.nsmap, "tns": PARTNER, "xsd": XSD}
    root = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=nsmap)
    for child in schema:
        if child.tag == f"{{{XSD}}}import":
            continue
        root.append(child)
    return etree.XMLSchema(root)


def load_wsdl_schema(shared_dir: Path) -> etree.XMLSchema:
    """The compiled XML Schema of ``shared_dir/sfmc/etframework.wsdl`` (cached per path)."""
    return _load(Path(shared_dir, "sfmc", "etframework.wsdl").resolve())


def body_payload(envelope_bytes: bytes) -> etree._Element:
    """The first element child of the SOAP 1.1 Body of ``envelope_bytes``."""
    envelope = _parse(envelope_bytes)
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise AssertionError(f"not a SOAP 1.1 envelope: root is {envelope.tag}")
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if body is None:
        raise AssertionError("the envelope has no soap:Body")
    payload = next(iter(body.iterchildren(etree.Element)), None)
    if payload is None:
        raise AssertionError("the soap:Body is empty")
    return payload


def validate_body(schema: etree.XMLSchema, envelope_bytes: bytes) -> etree._Element:
    """Validate the Body's first child against ``schema``; raise ``AssertionError`` naming every violation.

    Returns the validated element so a test can go on to read it.
    """
    payload = body_payload(envelope_bytes)
    # Validate a standalone copy: the element is a document root, as the WSDL message part declares it.
    document = etree.fromstring(etree.tostring(payload), _parser())
    if not schema.validate(document):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"<{etree.QName(payload).localname}> does not match the WSDL: {errors}")
    return payload
