"""The official Python SDK's SOAP stack, set up as FuelSDK-Python 1.3.0 sets it up (for the suds tests).

FuelSDK-Python (github.com/salesforce-marketingcloud/FuelSDK-Python, MIT licence) builds its client in
``FuelSDK/client.py`` ``build_soap_client``: ``suds.client.Client(wsdl_file_url, faults=False,
cachingpolicy=1)``, ``set_options(location=soap_endpoint)``, a ``user-agent`` header and the token as the
SOAP header ``<etns:fueloauth xmlns:etns="http://exacttarget.com">``. At import (``FuelSDK/__init__.py``) it
patches two suds functions so that elements without a value are left out; both patches are reproduced below
as the SDK has them (``FuelSDK/suds_patch.py``) and applied only while the tests use the client.
Requests are built the SDK's way (``FuelSDK/rest.py``): ``factory.create('RetrieveRequest')`` with a
``SimpleFilterPart``, ``service.Update(None, objects)``, ``factory.create('RetrieveRequest')`` with only
``ContinueRequest`` for the next page.

One thing cannot run here: the WSDL imports ``https://webservice.exacttarget.com/ETFrameworkFault.xsd``
(not public, and this machine has no network). The transport answers that one URL with an empty schema of its
namespace (no type of the WSDL uses it) and sends everything else over real HTTP, as the SDK's does.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import suds.client
import suds.transport
from suds.bindings import document as suds_document
from suds.cache import ObjectCache
from suds.mx import appender as suds_appender
from suds.mx.appender import Appender, Content
from suds.sax.element import Element
from suds.transport.https import HttpAuthenticated

FAULT_XSD = "https://webservice.exacttarget.com/ETFrameworkFault.xsd"
_FAULT_SCHEMA = (
    b'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
    b' targetNamespace="urn:fault.partner.exacttarget.com"/>'
)


class _Transport(HttpAuthenticated):
    """suds' default transport, except that the unpublished fault schema is answered locally."""

    def open(self, request: suds.transport.Request) -> Any:
        """The WSDL's one unreachable import from memory; everything else as suds fetches it."""
        if request.url == FAULT_XSD:
            return io.BytesIO(_FAULT_SCHEMA)
        return super().open(request)


class _PropertyAppender(Appender):
    """FuelSDK's patched suds PropertyAppender: a property without a value is not sent."""

    def append(self, parent: Any, content: Any) -> None:
        p = content.value
        child = self.node(content)
        child_value = p.get()
        if child_value is None:
            pass
        else:
            child.setText(child_value)
            parent.append(child)
            for item in p.items():
                cont = Content(tag=item[0], value=item[1])
                Appender.append(self, child, cont)


def _bodycontent(self: Any, method: Any, args: Any, kwargs: Any) -> Any:
    """FuelSDK's patched suds Document.bodycontent: a ``None`` argument (Update's Options) is left out."""
    if not len(method.soap.input.body.parts):
        return ()
    wrapped = method.soap.input.body.wrapped
    if wrapped:
        pts = self.bodypart_types(method)
        root = self.document(pts[0])
    else:
        root = []
    n = 0
    for pd in self.param_defs(method):
        value = args[n] if n < len(args) else kwargs.get(pd[0])
        n += 1
        if value is None:
            continue
        p = self.mkparam(method, pd, value)
        if p is None:
            continue
        if not wrapped:
            ns = pd[1].namespace("ns0")
            p.setPrefix(ns[0], ns[1])
        root.append(p)
    return root


@contextmanager
def fuelsdk_patches() -> Iterator[None]:
    """Apply FuelSDK's two runtime patches of suds, and take them off again."""
    saved = suds_appender.PropertyAppender, suds_document.Document.bodycontent
    suds_appender.PropertyAppender = _PropertyAppender
    suds_document.Document.bodycontent = _bodycontent
    try:
        yield
    finally:
        suds_appender.PropertyAppender, suds_document.Document.bodycontent = saved


def build_client(wsdl: Path, cache_dir: Path) -> suds.client.Client:
    """``build_soap_client`` without the endpoint and token (set per emulator by ``point_at``)."""
    cache = ObjectCache(location=str(cache_dir))  # the SDK's default cache, kept in the test's own folder
    return suds.client.Client(
        wsdl.resolve().as_uri(), faults=False, cachingpolicy=1, cache=cache, transport=_Transport()
    )


def point_at(client: suds.client.Client, soap_endpoint: str, token: str) -> None:
    """The endpoint, user-agent and fueloauth header options, exactly as the SDK sets them."""
    client.set_options(location=soap_endpoint)
    client.set_options(headers={"user-agent": "FuelSDK-Python-v1.3.0"})
    element_oauth = Element("fueloauth", ns=("etns", "http://exacttarget.com"))
    element_oauth.setText(token)
    client.set_options(soapheaders=(element_oauth))


def get(client: suds.client.Client, obj_type: str, props: list[str], search_filter: dict | None) -> Any:
    """``ET_Get``: a RetrieveRequest with Properties, a SimpleFilterPart and ObjectType; ``(code, body)``."""
    ws_retrieve_request = client.factory.create("RetrieveRequest")
    ws_retrieve_request.Properties = props
    if search_filter is not None:
        ws_simple_filter_part = client.factory.create("SimpleFilterPart")
        for prop in ws_simple_filter_part:
            if prop[0] in search_filter:
                ws_simple_filter_part[prop[0]] = search_filter[prop[0]]
        ws_retrieve_request.Filter = ws_simple_filter_part
    ws_retrieve_request.ObjectType = obj_type
    return client.service.Retrieve(ws_retrieve_request)


def get_more(client: suds.client.Client, request_id: str) -> Any:
    """``ET_Continue``: a RetrieveRequest holding only ContinueRequest."""
    ws_continue_request = client.factory.create("RetrieveRequest")
    ws_continue_request.ContinueRequest = request_id
    return client.service.Retrieve(ws_continue_request)


def patch(client: suds.client.Client, obj_type: str, props: list[dict]) -> Any:
    """``ET_Patch``: ``service.Update(None, objects)``, each object from ``factory.create(obj_type)``."""
    empty_obj = client.factory.create(obj_type)
    objects = []
    for prop_dict in props:
        ws_object = copy.copy(empty_obj)
        for k, v in prop_dict.items():
            if k not in ws_object:
                raise ValueError(f"{k} is not a property of {obj_type}")
            ws_object[k] = v
        objects.append(ws_object)
    return client.service.Update(None, objects)


def execute(client: suds.client.Client, name: str, parameters: list[tuple[str, str]]) -> Any:
    """An Execute built with ``factory.create`` (the SDK has no wrapper for it)."""
    request = client.factory.create("ExecuteRequest")
    request.Name = name
    for key, value in parameters:
        prop = client.factory.create("APIProperty")
        prop.Name, prop.Value = key, value
        request.Parameters.append(prop)
    return client.service.Execute([request])
