"""The light wall: authenticated commands in, a public read-only view out."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.deps import ServicesDep, SessionDep
from eventapi.models import Accepted, LightCommand, Pattern, Wall, WallEntry
from eventapi.openapi_errors import EVERY_REQUEST, JSON_BODY, SIGNED_IN, STORAGE, error_responses
from eventapi.quotas import session_subject
from eventapi.settings import WALL_SIZE

router = APIRouter(tags=["lights"])


@router.post(
    "/lights",
    status_code=202,
    responses=error_responses(
        *EVERY_REQUEST,
        *JSON_BODY,
        *SIGNED_IN,
        descriptions={429: "This session's per-minute command quota is spent, or the instance is full."},
    ),
)
def send_light(command: LightCommand, session: SessionDep, deps: ServicesDep) -> Accepted:
    """Queue a command for the wall (counts against the session's per-minute quota)."""
    deps.quotas.take(session_subject(session.session_id), deps.settings.commands_per_minute)
    light_id = deps.store.add_light(session.attendee_key, command.pattern.value, command.color.lower(), deps.clock())
    return Accepted(id=light_id)


@router.get("/lights", responses=error_responses(*EVERY_REQUEST, *STORAGE))
def wall(deps: ServicesDep) -> Wall:
    """The most recent commands, newest first: pattern, color and time, never who sent them."""
    lights = deps.store.recent_lights(deps.clock(), WALL_SIZE)
    return Wall(lights=[WallEntry(pattern=Pattern(x.pattern), color=x.color, time=x.created_at) for x in lights])
