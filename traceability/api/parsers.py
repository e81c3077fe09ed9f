"""The JSON parser of every API body: ``traceability.jsonbody``'s strict reading, as DRF's 400."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

from traceability.jsonbody import JsonBodyError, loads


class StrictJSONParser(JSONParser):
    """Refuses excessive nesting, NaN and Infinity, numbers beyond a float, NUL and lone surrogates."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> object:
        encoding = get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"the body is not {encoding}: {exc.reason}", code="parse_error") from exc
        try:
            return loads(text)
        except JsonBodyError as exc:
            raise ParseError(exc.message, code=exc.code) from exc
