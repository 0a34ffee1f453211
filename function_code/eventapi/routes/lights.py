"""The light wall: authenticated commands in, a public read-only view out."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.deps import ServicesDep, SessionDep
from eventapi.models import Accepted, LightCommand, Pattern, Wall, WallEntry
from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, JSON_BODY, SIGNED_IN, STORAGE, error_responses
from eventapi.settings import WALL_SIZE

router = APIRouter(tags=["lights"])


@router.post(
    "/lights",
    status_code=202,
    responses=error_responses(
        *EVERY_REQUEST,
        *EVENT_PHASE,
        *JSON_BODY,
        *SIGNED_IN,
        descriptions={429: "The attendee's per-minute command quota is spent, or the instance is full."},
    ),
)
def send_light(command: LightCommand, session: SessionDep, deps: ServicesDep) -> Accepted:
    """Queue a command for the wall (counts against the attendee's per-minute quota, all devices together)."""
    # Counted on the session row, conditional on the session still existing: a command racing an
    # erasure or a revocation fails here and writes nothing.
    deps.quotas.take_command(session.session_id, deps.settings.commands_per_minute)
    light_id = deps.lights.add(command.pattern.value, command.color.lower(), deps.clock())
    return Accepted(id=light_id)


@router.get("/lights", responses=error_responses(*EVERY_REQUEST, *EVENT_PHASE, *STORAGE))
def wall(deps: ServicesDep) -> Wall:
    """The most recent commands, newest first: pattern, color and time, never who sent them."""
    lights = deps.lights.recent(deps.clock(), WALL_SIZE)
    return Wall(lights=[WallEntry(pattern=Pattern(x.pattern), color=x.color, time=x.created_at) for x in lights])
