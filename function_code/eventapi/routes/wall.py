"""GET /api/wall: the light-wall page for the big screen, with its script, style, icon and join code.

The files are read once from `eventapi/static/` and served as they are: nothing in them is
templated, so no request or stored value ever reaches the markup. The page's content security
policy (guard.PAGE_CONTENT_SECURITY_POLICIES) allows only this origin's script, style, images and
fetches. The QR code is drawn here from the app's own settings (the join page's address).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from eventapi.assets import CssResponse, JavaScriptResponse, SvgResponse, documented, read_static
from eventapi.deps import ServicesDep
from eventapi.qr import qr_svg

router = APIRouter(tags=["wall"])

WALL_PATH = "/wall"
# Served under the page's own path, so the policy's 'self' covers them.
ASSETS_PATH = "/wall"

_PAGE = read_static("wall.html")
_SCRIPT = read_static("wall.js")
_STYLE = read_static("wall.css")
_ICON = read_static("wall.svg")


@router.get(
    WALL_PATH,
    response_class=HTMLResponse,
    responses=documented("text/html", "The light-wall page.", '<!doctype html>\n<html lang="en">...'),
)
async def wall_page() -> HTMLResponse:
    """The light wall: the latest commands as lights, newest first, and how to join."""
    return HTMLResponse(_PAGE)


@router.get(
    f"{ASSETS_PATH}/wall.js",
    response_class=JavaScriptResponse,
    responses=documented("text/javascript", "The page's script.", '"use strict";'),
)
async def wall_script() -> JavaScriptResponse:
    """The script that polls GET /api/lights and renders the lights."""
    return JavaScriptResponse(_SCRIPT)


@router.get(
    f"{ASSETS_PATH}/wall.css",
    response_class=CssResponse,
    responses=documented("text/css", "The page's style sheet.", ":root { color-scheme: dark; }"),
)
async def wall_style() -> CssResponse:
    """The page's style, including the pattern animations."""
    return CssResponse(_STYLE)


@router.get(
    f"{ASSETS_PATH}/wall.svg",
    response_class=SvgResponse,
    responses=documented("image/svg+xml", "The page's icon.", '<svg xmlns="http://www.w3.org/2000/svg"/>'),
)
async def wall_icon() -> SvgResponse:
    """The page's icon (so the browser does not ask for a /favicon.ico that does not exist)."""
    return SvgResponse(_ICON)


@router.get(
    f"{ASSETS_PATH}/join.svg",
    response_class=SvgResponse,
    responses=documented(
        "image/svg+xml", "The join page's address as a QR code.", '<svg xmlns="http://www.w3.org/2000/svg"/>'
    ),
)
async def join_code(deps: ServicesDep) -> SvgResponse:
    """A QR code of the join page's address, for phones in the hall to scan off the wall."""
    return SvgResponse(qr_svg(deps.settings.join_url))
