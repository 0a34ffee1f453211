"""GET /api/health: liveness, nothing secret or versioned."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.models import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> Health:
    """The API answers."""
    return Health()
