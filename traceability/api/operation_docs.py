"""What the OpenAPI document says of each operation endpoint beyond its serializers: real request
and response examples, and every error status with the codes it can carry.

Both are data, in ``traceability/data/``: ``operation_examples.json`` is one walk of the loop
(each request valid after the ones before it, on a database with the organisations and sites it
names; the responses are what that walk answered), and ``operation_errors.json`` lists the codes
of each operation by status.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES_FILE = DATA / "operation_examples.json"
ERRORS_FILE = DATA / "operation_errors.json"

STATUS_MEANING = {
    400: "the request breaks a rule or is malformed; nothing is stored",
    401: "no or an invalid API key",
    403: "your role never records this operation, or an object named is another organisation's",
    404: "an object named is not known (or not visible to you)",
    409: "the request conflicts with what is recorded",
    413: "the body is larger than the server accepts",
    415: "the body is not JSON",
    422: "the Idempotency-Key was used for a different request",
    429: "too many failed authentication attempts; retry later",
}


@cache
def examples() -> dict[str, Any]:
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))


@cache
def error_table() -> dict[str, Any]:
    return json.loads(ERRORS_FILE.read_text(encoding="utf-8"))


def steps(name: str) -> list[dict[str, Any]]:
    """The walk's steps that record ``name`` (an operation's URL segment), in order."""
    return [step for step in examples()["walk"] if step["operation"] == name]


def error_codes(name: str) -> dict[int, list[str]]:
    """The codes ``name`` may answer, by status: the common ones and the operation's own."""
    table = error_table()
    codes: dict[int, set[str]] = {}
    for part in (table["common"], table["operations"][name]):
        for status, listed in part.items():
            codes.setdefault(int(status), set()).update(listed)
    return {status: sorted(listed) for status, listed in sorted(codes.items())}


def error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": codes, "description": "stable, machine-readable"},
            "detail": {"type": "string", "description": "for people"},
            "fields": {
                "type": "object",
                "description": "a validation error only: each failing field with its message and code",
            },
        },
        "required": ["code", "detail"],
    }


def request_examples(name: str) -> list[OpenApiExample]:
    return [
        OpenApiExample(step["summary"], value=step["request"], request_only=True, summary=step["summary"])
        for step in steps(name)
    ]


def responses(name: str, created: object) -> dict[int, OpenApiResponse]:
    """The 201 with the walk's recorded events, and each error status with its codes."""
    answered = {
        201: OpenApiResponse(
            created,
            description="the event recorded",
            examples=[
                OpenApiExample(step["summary"], value=step["response"], response_only=True, status_codes=["201"])
                for step in steps(name)
            ],
        )
    }
    for status, codes in error_codes(name).items():
        answered[status] = OpenApiResponse(
            error_schema(codes),
            description=f"{STATUS_MEANING[status]}. Codes: {', '.join(f'`{c}`' for c in codes)}.",
        )
    return answered
