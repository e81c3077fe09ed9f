"""PACT 2.x's ``$filter``: the OData v4 subset its ListFootprints names, on 2.3 documents.

Operators ``eq``, ``lt``, ``le``, ``gt``, ``ge`` and ``and`` (with parentheses), and ``any`` on the
id lists, over the properties ``created``, ``updated``, ``productCategoryCpc``,
``pcf/geographyCountry``, ``pcf/referencePeriodStart``, ``pcf/referencePeriodEnd``, ``companyIds``
and ``productIds``, for instance::

    created ge '2023-01-15T10:15:30Z'
    (pcf/geographyCountry eq 'FR') and (updated lt '2023-06-27T13:00:00.000Z')
    productIds/any(productId:(productId eq 'urn:gtin:5695872369587'))

A property a footprint lacks (``updated`` of a first version) compares false, as OData's null.
Dates compare as instants, other values as text. Anything else (``or``, ``not``, functions,
other properties) is refused as NotImplemented; a malformed expression as BadRequest.
Pure: no Django, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from carbon.pact.errors import PactError

Predicate = Callable[[dict[str, Any]], bool]

DATES = {"created", "updated", "pcf/referencePeriodStart", "pcf/referencePeriodEnd"}
TEXTS = {"productCategoryCpc", "pcf/geographyCountry"}
LISTS = {"productIds", "companyIds"}
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|([()/:])|([A-Za-z_][A-Za-z0-9_]*))")
MAX_LENGTH = 2000


def _moment(value: object, *, what: str) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        if what == "literal":
            raise PactError("BadRequest", f"$filter: {value!r} is not a date-time") from exc
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if match is None:
            raise PactError("BadRequest", f"$filter: cannot read {expression[position : position + 20]!r}")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            wanted = f"{expected!r}" if expected else "more"
            raise PactError("BadRequest", f"$filter: expected {wanted}, found {token or 'the end'!r}")
        self.at += 1
        return token

    def expression(self) -> Predicate:
        terms = [self.term()]
        while self.peek() is not None and self.peek() != ")":
            word = self.take()
            if word != "and":
                raise PactError("NotImplemented", f"$filter: only 'and' joins conditions, not {word!r}")
            terms.append(self.term())
        return lambda document: all(term(document) for term in terms)

    def term(self) -> Predicate:
        if self.peek() == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        path = self.path()
        if path in LISTS:
            return self.any(path)
        if path not in DATES | TEXTS:
            raise PactError("NotImplemented", f"$filter on {path!r} is not supported")
        operator = self.take()
        if operator not in OPERATORS:
            raise PactError("NotImplemented", f"$filter: operator {operator!r} is not supported")
        literal = self.literal()
        compare = OPERATORS[operator]
        if path in DATES:
            bound = _moment(literal, what="literal")

            def on_date(document: dict[str, Any]) -> bool:
                value = _moment(_value(document, path), what="value")
                return value is not None and compare(value, bound)

            return on_date

        def on_text(document: dict[str, Any]) -> bool:
            value = _value(document, path)
            return isinstance(value, str) and compare(value, literal)

        return on_text

    def any(self, path: str) -> Predicate:
        """``productIds/any(p:(p eq 'urn:...'))``: the list holds the value."""
        self.take("/")
        self.take("any")
        self.take("(")
        variable = self.take()
        self.take(":")
        parenthesised = self.peek() == "("
        if parenthesised:
            self.take("(")
        self.take(variable)
        if self.take() != "eq":
            raise PactError("NotImplemented", "$filter: any() takes 'eq' only")
        literal = self.literal()
        if parenthesised:
            self.take(")")
        self.take(")")
        return lambda document: literal in (_value(document, path) or [])

    def path(self) -> str:
        parts = [self.take()]
        while self.peek() == "/" and parts[-1] not in LISTS:
            self.take("/")
            parts.append(self.take())
        path = "/".join(parts)
        if path.startswith("'") or path in {"(", ")", ":", "/"}:
            raise PactError("BadRequest", f"$filter: expected a property, found {path!r}")
        return path

    def literal(self) -> str:
        token = self.take()
        if not token.startswith("'"):
            raise PactError("BadRequest", f"$filter: expected a quoted value, found {token!r}")
        return token[1:-1].replace("''", "'")


def _value(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def predicate(expression: str) -> Predicate:
    """A test of a PACT 2.3 ProductFootprint document for ``expression``; PactError if unreadable."""
    if len(expression) > MAX_LENGTH or "\x00" in expression:
        raise PactError("BadRequest", f"$filter must be under {MAX_LENGTH} characters, without NUL")
    parser = _Parser(_tokens(expression))
    if parser.peek() is None:
        raise PactError("BadRequest", "$filter is empty")
    test = parser.expression()
    if parser.peek() is not None:
        raise PactError("BadRequest", f"$filter: unexpected {parser.peek()!r}")
    return test
