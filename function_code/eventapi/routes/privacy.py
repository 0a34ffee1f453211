"""GET /api/privacy: what is stored, why, where and for how long, from the settings."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.deps import ServicesDep
from eventapi.openapi_errors import EVERY_REQUEST, error_responses
from eventapi.privacy_models import Controller, Privacy
from eventapi.settings import SignInMode

router = APIRouter(tags=["privacy"])


@router.get("/privacy", responses=error_responses(*EVERY_REQUEST))
async def privacy(deps: ServicesDep) -> Privacy:
    """The privacy notice."""
    settings = deps.settings
    retention_hours = int(settings.retention.total_seconds() // 3600)
    return Privacy(
        controller=Controller(name=settings.controller_name, contact=settings.controller_contact),
        stored={
            "attendee": "an HMAC-SHA256 of your numeric GitHub id with a secret key, pointing at your session, and "
            "your last sign-in time; never your login, name, e-mail or GitHub token",
            "sessions": "one session per attendee (a random id, its creation and expiry time, an HMAC of your login "
            "so that a withdrawn invitation ends it, how many commands you sent, this minute's count), and per "
            "device you signed in on an HMAC of its current refresh token",
            "lights": "each command's pattern, color and time, stored without any link to you: it is what the "
            "public wall shows",
            "rate_limits": "per-minute counters keyed by an HMAC of the client IP address, and app-wide counters",
            "logs": "operational logs hold no tokens, codes, GitHub ids or logins; Application Insights masks client "
            "IP addresses, and the edge's access and firewall logs (which hold them) are not collected",
            "sign_in": "while a sign-in is pending (10 minutes at most): HMACs of its device and user codes; GitHub "
            "is asked once for your id and login, and its token is discarded at once",
        },
        purposes=[
            "letting you send commands to the light wall",
            "limiting abuse (rate limits)",
            "answering your access and erasure requests",
        ],
        legal_basis=(
            "GDPR Art. 6(1)(b): signing in is your request to take part in the light wall, and the data above is "
            "what that takes; the rate limits rest on Art. 6(1)(f), the legitimate interest in keeping the "
            "service up for every attendee"
        ),
        recipients={
            "Microsoft (Azure)": "processor acting for the controller: hosts the API, its storage, keys and logs in "
            "an EU region (Microsoft Products and Services Data Protection Addendum)",
            "GitHub": "identity provider you choose to sign in with: it learns that you signed in to this app, "
            "under GitHub's own privacy statement; this API receives only your numeric id and login",
            "everyone viewing the wall": "the commands (pattern, color, time), with no link to you",
        },
        location="Azure Table storage in an EU region, encrypted at rest with a key held in Azure Key Vault",
        retention_hours=retention_hours,
        delete_all_by=settings.data_delete_by,
        who_may_sign_in=(
            "everyone with a GitHub account"
            if settings.sign_in_mode is SignInMode.OPEN
            else "only the GitHub logins the organisers registered with the tickets; a refused sign-in stores "
            "nothing about the person"
        ),
        your_rights={
            "access": "GET /api/me returns everything stored about you",
            "erasure": "DELETE /api/me erases it and ends your sessions at once",
            "retention": f"rows older than {retention_hours} hours are purged; everything is deleted by delete_all_by",
        },
    )
