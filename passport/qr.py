"""QR codes of passport URLs (Annex XIII: a QR code leads to the passport), as SVG or PNG."""

from __future__ import annotations

import io

import segno

# Error correction M (15 %) survives a scratched label; a scale of 8 prints about 3 cm at 300 dpi.
ERROR_CORRECTION = "m"
SCALE = 8


def qr_code(url: str, *, kind: str) -> bytes:
    """The QR code of ``url`` as ``svg`` or ``png`` bytes."""
    buffer = io.BytesIO()
    segno.make_qr(url, error=ERROR_CORRECTION).save(buffer, kind=kind, scale=SCALE, border=4)
    return buffer.getvalue()
