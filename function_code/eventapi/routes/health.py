"""GET /api/health: liveness, nothing secret or versioned."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.models import Health
from eventapi.openapi_errors import EVERY_REQUEST, error_responses

router = APIRouter(tags=["health"])


@router.get("/health", responses=error_responses(*EVERY_REQUEST))
async def health() -> Health:
    """The API answers."""
    return Health()
