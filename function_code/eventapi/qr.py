"""The join page's address as a QR code, drawn on the server as SVG (segno): no outside service sees it."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

# Error correction M (15 % of the code may be lost): a projector's glare or a head in the way.
ERROR_CORRECTION = "m"
# The quiet zone ISO/IEC 18004 asks for around the code, in modules.
QUIET_ZONE_MODULES = 4
# Dark on light: phone cameras read that polarity reliably, whatever the page's theme.
DARK = "#000000"
LIGHT = "#ffffff"


@lru_cache(maxsize=4)
def qr_svg(url: str) -> bytes:
    """`url` as a QR code: a scalable SVG (a viewBox, no fixed size) with a title naming the address."""
    code = segno.make(url, error=ERROR_CORRECTION, micro=False)
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        border=QUIET_ZONE_MODULES,
        dark=DARK,
        light=LIGHT,
        omitsize=True,
        xmldecl=False,
        title=url,
    )
    return buffer.getvalue()
