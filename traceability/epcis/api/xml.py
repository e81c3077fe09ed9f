"""The EPCIS XML binding over HTTP: ``application/xml`` (or ``text/xml``) bodies in, EPCIS 2.0 XML out.

The parser hands the views the JSON-LD document (or event) the JSON binding would have
carried, so capture and its rules, hash and de-duplication are the JSON binding's; the
renderer writes query documents as EPCIS 2.0 XML and problems as ``EPCISException``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from lxml import etree
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from traceability.epcis.core import xml
from traceability.epcis.problems import problem
from traceability.errors import ApplicationError
from traceability.operations.epcis import CONTEXT

DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
# Looptrace's own prefix (``lt:``), which outlines of events carry whatever their context declares.
KNOWN_PREFIXES = {k: v for item in CONTEXT if isinstance(item, dict) for k, v in item.items()}


class EpcisXMLParser(BaseParser):
    """An EPCIS 2.0 or 1.2 XML document, or one 2.0 event, as JSON-LD; refused (400) if not XSD-valid."""

    media_type = "application/xml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> object:
        body = stream.read() if stream is not None else b""
        try:
            return xml.read(body)
        except xml.XmlDocumentError as exc:
            extra: dict[str, object] = {}
            if exc.line is not None:
                extra["line"] = exc.line
            if exc.errors:
                extra["errors"] = exc.errors
            raise ApplicationError(exc.code, exc.message, extra=extra) from exc


class EpcisTextXMLParser(EpcisXMLParser):
    media_type = "text/xml"


def _problem_xml(data: dict[str, Any]) -> bytes:
    root = etree.Element(f"{{{xml.EPCIS_2}}}EPCISException", nsmap={"epcis": xml.EPCIS_2})
    for name in ("type", "title", "status", "detail", "instance"):
        if data.get(name) is not None:
            etree.SubElement(root, name).text = str(data[name])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class EpcisXMLRenderer(BaseRenderer):
    """EPCIS documents as EPCIS 2.0 XML; an error as an ``EPCISException`` (RFC 7807 in XML)."""

    media_type = "application/xml"
    format = "xml"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: dict[str, Any] | None = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if data is None:
            return b""
        if isinstance(data, dict) and data.get("type") in DOCUMENT_TYPES:
            try:
                return xml.write_document(data, known_prefixes=KNOWN_PREFIXES)
            except xml.XmlDocumentError as exc:
                data = problem({"code": exc.code, "detail": exc.message}, status.HTTP_406_NOT_ACCEPTABLE)
        elif response is None or response.status_code < 400 or not isinstance(data, dict):
            data = problem(
                {"code": "xml_not_available", "detail": "this resource has no EPCIS XML form; ask for JSON"},
                status.HTTP_406_NOT_ACCEPTABLE,
            )
        if response is not None and data.get("status") == status.HTTP_406_NOT_ACCEPTABLE:
            response.status_code = status.HTTP_406_NOT_ACCEPTABLE
        return _problem_xml(data)


class EpcisTextXMLRenderer(EpcisXMLRenderer):
    media_type = "text/xml"


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class AcceptNegotiation(DefaultContentNegotiation):
    """The EPCIS REST bindings choose JSON or XML by ``Accept`` alone: no ``?format=`` override."""

    settings = _NoFormatOverride()


class EpcisAutoSchema(AutoSchema):
    """No ``format`` query parameter in the OpenAPI document either (see ``AcceptNegotiation``)."""

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        return []
