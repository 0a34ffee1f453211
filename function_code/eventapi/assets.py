"""The pages' own files: read once from `eventapi/static/`, served as they are, with exact media types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import Response

from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, error_responses

STATIC_DIR = Path(__file__).resolve().parent / "static"


def read_static(name: str) -> bytes:
    """A file from `eventapi/static/`, read at import: nothing in it is templated."""
    return (STATIC_DIR / name).read_bytes()


class JavaScriptResponse(Response):
    media_type = "text/javascript"


class CssResponse(Response):
    media_type = "text/css"


class SvgResponse(Response):
    media_type = "image/svg+xml"


def documented(media_type: str, description: str, example: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a page or file: the content, and the errors every request may get."""
    content = {media_type: {"schema": {"type": "string"}, "example": example}}
    return {200: {"description": description, "content": content}} | error_responses(*EVERY_REQUEST, *EVENT_PHASE)
