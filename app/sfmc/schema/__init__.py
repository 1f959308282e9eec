"""Our own XML Schema of the partner API's Execute types (``execute.xsd``), to check envelopes we build."""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from ..errors import SfmcRequestError
from ..ns import PARTNER, SOAP_ENV

XSD_PATH = Path(__file__).with_name("execute.xsd")


@functools.cache
def execute_schema() -> etree.XMLSchema:
    """The compiled schema (once per process; compiling it takes about a millisecond)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_PATH), parser))


def check_envelope(envelope: etree._Element) -> None:
    """Raise ``SfmcRequestError`` naming every violation when the Body's message breaks the schema."""
    payload = envelope.find(f"{{{SOAP_ENV}}}Body/{{{PARTNER}}}ExecuteRequestMsg")
    if payload is None:
        raise SfmcRequestError("the envelope carries no ExecuteRequestMsg")
    schema = execute_schema()
    if not schema.validate(payload):
        problems = "; ".join(error.message for error in schema.error_log)
        raise SfmcRequestError(f"the ExecuteRequestMsg we built breaks the Execute schema: {problems}")
