"""The ``Accept`` header read once for every view that negotiates by hand (RFC 9110 §12.5.1)."""

from __future__ import annotations

# An Accept header is read up to this many media ranges: what follows cannot change a choice
# among the few types a view offers, and a header of thousands costs nothing more.
MAX_MEDIA_RANGES = 32


def accepted_types(header: str) -> list[str]:
    """The media types of an ``Accept`` header, lower-cased, most preferred first (quality, then
    order); those with ``q=0`` (or an unreadable quality) are left out."""
    ranked = []
    for position, part in enumerate(header.split(",")[:MAX_MEDIA_RANGES]):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type and quality > 0:
            ranked.append((-quality, position, media_type.lower()))
    return [media_type for _, _, media_type in sorted(ranked)]
