"""Our own XML Schema of the partner API types we send, to check every envelope before it goes out.

``execute.xsd``: the Execute types (LogUnsubEvent). ``objects.xsd``: the Retrieve and Update types
(it includes ``execute.xsd`` for ClientID and APIProperty). Both are copies of the real WSDL's types,
some cut to the optional elements we use; tests/sfmc/test_sfmc_schema.py holds them to the WSDL.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from ..errors import SfmcRequestError
from ..ns import PARTNER, SOAP_ENV

XSD_PATH = Path(__file__).with_name("execute.xsd")
OBJECTS_XSD_PATH = Path(__file__).with_name("objects.xsd")


def _compile(path: Path) -> etree.XMLSchema:
    # The include of objects.xsd is a file next to it: no network, no DTD, no entities.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


@functools.cache
def execute_schema() -> etree.XMLSchema:
    """The compiled Execute schema (once per process; compiling it takes about a millisecond)."""
    return _compile(XSD_PATH)


@functools.cache
def objects_schema() -> etree.XMLSchema:
    """The compiled Retrieve and Update schema (once per process)."""
    return _compile(OBJECTS_XSD_PATH)


#: Which schema checks which message we send.
_SCHEMAS = {
    f"{{{PARTNER}}}ExecuteRequestMsg": execute_schema,
    f"{{{PARTNER}}}RetrieveRequestMsg": objects_schema,
    f"{{{PARTNER}}}UpdateRequest": objects_schema,
}


def check_envelope(envelope: etree._Element) -> None:
    """Raise ``SfmcRequestError`` naming every violation when the Body's message breaks the schema (or is
    not one of the messages we send)."""
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    payload = None if body is None else next(body.iterchildren(etree.Element), None)
    schema_of = None if payload is None else _SCHEMAS.get(payload.tag)
    if schema_of is None:
        raise SfmcRequestError("the envelope carries no message we send (Execute, Retrieve, Update)")
    schema = schema_of()
    if not schema.validate(payload):
        problems = "; ".join(error.message for error in schema.error_log)
        name = etree.QName(payload).localname
        raise SfmcRequestError(f"the {name} we built breaks our copy of the partner schema: {problems}")
