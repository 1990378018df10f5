"""Open311 GeoReport v2 bodies: the same Python data as JSON or as XML.

A body is a list of dicts (or one dict, for discovery and a service definition). In XML
a list becomes an element named after its key (the root's name for the top level) whose
items are elements named by :data:`ITEM_NAMES` (``services`` → ``service``); a dict
becomes child elements in its key order; ``True``/``False`` become ``true``/``false``
and ``None`` an empty element. Text is escaped by ElementTree; characters XML 1.0
cannot hold (control characters) are dropped.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

JSON, XML = "json", "xml"
CONTENT_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}

#: list element name -> the name of each of its items
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    """``data`` under a root element named ``root``, with the XML declaration."""
    element = ET.Element(root)
    _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def to_json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).encode("utf-8")


def render(fmt: str, root: str, data, *, status: int = 200) -> HttpResponse:
    """The response for ``data`` in ``fmt`` ("json" or "xml"); ``root`` names the XML root."""
    body = to_xml(root, data) if fmt == XML else to_json(data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, descriptions) -> HttpResponse:
    """The spec's error body: ``[{code, description}]`` / ``<errors><error>…``."""
    if isinstance(descriptions, str):
        descriptions = [descriptions]
    errors = [{"code": status, "description": str(text)} for text in descriptions]
    return render(fmt, "errors", errors, status=status)
