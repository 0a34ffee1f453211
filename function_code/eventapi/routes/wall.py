"""GET /api/wall: the light-wall page for the big screen, with its script, style and icon.

The files are read once from `eventapi/static/` and served as they are: nothing in them is
templated, so no request or stored value ever reaches the markup. The page's content security
policy (guard.PAGE_CONTENT_SECURITY_POLICIES) allows only this origin's script, style and fetches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, error_responses

router = APIRouter(tags=["wall"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
WALL_PATH = "/wall"
# Served under the page's own path, so the policy's 'self' covers them.
ASSETS_PATH = "/wall"


def _read(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


_PAGE = _read("wall.html")
_SCRIPT = _read("wall.js")
_STYLE = _read("wall.css")
_ICON = _read("wall.svg")


class JavaScriptResponse(Response):
    media_type = "text/javascript"


class CssResponse(Response):
    media_type = "text/css"


class SvgResponse(Response):
    media_type = "image/svg+xml"


def _documented(media_type: str, description: str, example: str) -> dict[int | str, dict[str, Any]]:
    content = {media_type: {"schema": {"type": "string"}, "example": example}}
    return {200: {"description": description, "content": content}} | error_responses(*EVERY_REQUEST, *EVENT_PHASE)


@router.get(
    WALL_PATH,
    response_class=HTMLResponse,
    responses=_documented("text/html", "The light-wall page.", '<!doctype html>\n<html lang="en">...'),
)
def wall_page() -> HTMLResponse:
    """The light wall: the latest commands as animated lights, newest first, and how to join."""
    return HTMLResponse(_PAGE)


@router.get(
    f"{ASSETS_PATH}/wall.js",
    response_class=JavaScriptResponse,
    responses=_documented("text/javascript", "The page's script.", '"use strict";'),
)
def wall_script() -> JavaScriptResponse:
    """The script that polls GET /api/lights and renders the lights."""
    return JavaScriptResponse(_SCRIPT)


@router.get(
    f"{ASSETS_PATH}/wall.css",
    response_class=CssResponse,
    responses=_documented("text/css", "The page's style sheet.", ":root { color-scheme: dark; }"),
)
def wall_style() -> CssResponse:
    """The page's style, including the pattern animations."""
    return CssResponse(_STYLE)


@router.get(
    f"{ASSETS_PATH}/wall.svg",
    response_class=SvgResponse,
    responses=_documented("image/svg+xml", "The page's icon.", '<svg xmlns="http://www.w3.org/2000/svg"/>'),
)
def wall_icon() -> SvgResponse:
    """The page's icon (so the browser does not ask for a /favicon.ico that does not exist)."""
    return SvgResponse(_ICON)
