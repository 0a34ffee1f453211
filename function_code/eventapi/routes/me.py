"""GDPR access and erasure for the caller."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from eventapi.deps import ServicesDep, SessionDep
from eventapi.models import MyData, MyLight, MySession, Pattern
from eventapi.openapi_errors import EVERY_REQUEST, IGNORED_BODY, SIGNED_IN, error_responses
from eventapi.quotas import session_subject

router = APIRouter(tags=["your data"])
log = logging.getLogger(__name__)


@router.get("/me", responses=error_responses(*EVERY_REQUEST, *SIGNED_IN))
def my_data(session: SessionDep, deps: ServicesDep) -> MyData:
    """Everything stored about the caller."""
    store = deps.store
    sessions = store.sessions_of(session.attendee_key)
    return MyData(
        attendee=store.attendee(session.attendee_key) or {},
        sessions=[MySession(created_at=s.created_at, expires_at=s.expires_at) for s in sessions],
        lights=[
            MyLight(id=x.light_id, pattern=Pattern(x.pattern), color=x.color, time=x.created_at)
            for x in store.lights_of(session.attendee_key)
        ],
        quota_rows=sum(store.counter_rows(session_subject(s.session_id)) for s in sessions),
    )


@router.delete(
    "/me",
    status_code=204,
    responses={
        204: {"description": "Erased; the token no longer works."},
        **error_responses(*EVERY_REQUEST, *IGNORED_BODY, *SIGNED_IN),
    },
)
def erase_me(session: SessionDep, deps: ServicesDep) -> Response:
    """Erase every row about the caller and end all of their sessions: their tokens stop working."""
    sessions = deps.store.sessions_of(session.attendee_key)
    deps.store.erase_attendee(session.attendee_key, [session_subject(s.session_id) for s in sessions])
    log.info("erasure completed for %d sessions", len(sessions))
    return Response(status_code=204)
