"""GET /api/join: the attendees' page for phones: sign in, send a light, and see every call it makes.

The page is a client of the public API and nothing more: it starts the device flow (POST
/api/auth/device), sends the attendee to the verification page the API names, polls the token
endpoint at the interval it is given, and keeps the tokens in the page's memory only. Its files
are served as they are, under the page's own path, and its content security policy
(guard.PAGE_CONTENT_SECURITY_POLICIES) allows only this origin's script, style and fetches.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from eventapi.assets import CssResponse, JavaScriptResponse, documented, read_static

router = APIRouter(tags=["join"])

JOIN_PATH = "/join"
ASSETS_PATH = "/join"

_PAGE = read_static("join.html")
_SCRIPT = read_static("join.js")
_STYLE = read_static("join.css")


@router.get(
    JOIN_PATH,
    response_class=HTMLResponse,
    responses=documented("text/html", "The join page.", '<!doctype html>\n<html lang="en">...'),
)
async def join_page() -> HTMLResponse:
    """The join page: sign in from a phone, send a light, and see each request as curl and fetch."""
    return HTMLResponse(_PAGE)


@router.get(
    f"{ASSETS_PATH}/join.js",
    response_class=JavaScriptResponse,
    responses=documented("text/javascript", "The page's script.", '"use strict";'),
)
async def join_script() -> JavaScriptResponse:
    """The script: the device flow, token refresh, sending a light, erasing one's data."""
    return JavaScriptResponse(_SCRIPT)


@router.get(
    f"{ASSETS_PATH}/join.css",
    response_class=CssResponse,
    responses=documented("text/css", "The page's style sheet.", ":root { color-scheme: dark; }"),
)
async def join_style() -> CssResponse:
    """The page's style, phone first."""
    return CssResponse(_STYLE)
