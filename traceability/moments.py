"""ISO 8601 times from partners, read once: malformed, zoneless, impossible offsets and times that
have no UTC equivalent are refused with one error type. No Django here (the EPCIS core uses it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# XML Schema's dateTime, which EPCIS 2.0 builds on, allows time zone offsets from -14:00 to +14:00
# (the EPCIS JSON schema's eventTimeZoneOffset pattern says the same); none is in use beyond them.
MAX_UTC_OFFSET = timedelta(hours=14)


class MomentError(ValueError):
    """A time that cannot be read; the message says why."""


def parse_moment(text: object, *, max_offset: timedelta | None = MAX_UTC_OFFSET) -> datetime:
    """``text`` as an aware UTC datetime. ``max_offset=None`` accepts any offset ISO 8601 can write."""
    if not isinstance(text, str):
        raise MomentError(f"{text!r} is not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise MomentError(f"{text[:60]!r} is not an ISO 8601 time") from exc
    offset = moment.utcoffset()
    if offset is None:
        raise MomentError(f"{text[:60]!r} has no time zone")
    if max_offset is not None and abs(offset) > max_offset:
        raise MomentError(f"{text[:60]!r} has a time zone offset beyond ±14:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise MomentError(f"{text[:60]!r} has no UTC equivalent within years 1 to 9999") from exc
