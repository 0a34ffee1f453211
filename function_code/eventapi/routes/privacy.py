"""GET /api/privacy: what is stored, why, where and for how long, from the settings."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.deps import ServicesDep
from eventapi.models import Privacy
from eventapi.openapi_errors import EVERY_REQUEST, error_responses

router = APIRouter(tags=["privacy"])


@router.get("/privacy", responses=error_responses(*EVERY_REQUEST))
def privacy(deps: ServicesDep) -> Privacy:
    """The privacy notice."""
    settings = deps.settings
    retention_hours = int(settings.retention.total_seconds() // 3600)
    return Privacy(
        controller="the conference organisers running this event API",
        stored={
            "attendee": "an HMAC-SHA256 of your numeric GitHub id with a secret key, and your last sign-in time; "
            "never your login, name, e-mail or GitHub token",
            "sessions": "a random session id per sign-in, with its creation and expiry time",
            "lights": "each command you send: pattern, color, time",
            "rate_limits": "per-session command counters, and per-minute sign-in counters keyed by an HMAC of the "
            "client IP address",
        },
        purposes=[
            "letting you send commands to the light wall",
            "limiting abuse (rate limits)",
            "answering your access and erasure requests",
        ],
        location="Azure Table storage in an EU region, encrypted at rest with a key held in Azure Key Vault",
        retention_hours=retention_hours,
        delete_all_by=settings.data_delete_by,
        your_rights={
            "access": "GET /api/me returns everything stored about you",
            "erasure": "DELETE /api/me erases it and ends your sessions at once",
            "retention": f"rows older than {retention_hours} hours are purged; everything is deleted by delete_all_by",
        },
    )
