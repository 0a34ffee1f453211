"""The light wall: authenticated commands in, a public read-only view out."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from eventapi.deps import ServicesDep, SessionDep
from eventapi.models import Accepted, LightCommand, Pattern, Wall, WallEntry
from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, JSON_BODY, SIGNED_IN, STORAGE, error_responses
from eventapi.services import Services
from eventapi.settings import WALL_SIZE
from eventapi.storage.sessions import Session

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
async def send_light(command: LightCommand, session: SessionDep, deps: ServicesDep) -> Accepted:
    """Queue a command for the wall (counts against the attendee's per-minute quota, all devices together)."""
    # The two writes block: one trip to the thread pool for both (FastAPI would take a plain
    # function there and back, then the answer's check there and back again).
    light_id = await run_in_threadpool(_count_and_store, command, session, deps)
    return Accepted(id=light_id)


def _count_and_store(command: LightCommand, session: Session, deps: Services) -> str:
    # Counted on the session row, conditional on the session still existing: a command racing an
    # erasure or a revocation fails here and writes nothing.
    deps.quotas.take_command(session.session_id, deps.settings.commands_per_minute)
    return deps.lights.add(command.pattern.value, command.color.lower(), deps.clock())


@router.get("/lights", responses=error_responses(*EVERY_REQUEST, *EVENT_PHASE, *STORAGE))
async def wall(deps: ServicesDep) -> Wall:
    """The most recent commands, newest first: pattern, color and time, never who sent them."""
    lights = await run_in_threadpool(deps.lights.recent, deps.clock(), WALL_SIZE)
    return Wall(lights=[WallEntry(pattern=Pattern(x.pattern), color=x.color, time=x.created_at) for x in lights])
