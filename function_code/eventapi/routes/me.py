"""GDPR access and erasure for the caller: both read and delete only the caller's own partitions."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from eventapi.deps import ServicesDep, SessionDep
from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, IGNORED_BODY, SIGNED_IN, error_responses
from eventapi.privacy_models import MyData, MySession, MySignIn

router = APIRouter(tags=["your data"])
log = logging.getLogger(__name__)


@router.get("/me", responses=error_responses(*EVERY_REQUEST, *EVENT_PHASE, *SIGNED_IN))
def my_data(session: SessionDep, deps: ServicesDep) -> MyData:
    """Everything stored about the caller (counts against the attendee's per-minute quota)."""
    deps.quotas.take_command(session.session_id, deps.settings.commands_per_minute, command=False)
    sessions = deps.sessions
    current = sessions.session(session.session_id, fresh=True) or session
    return MyData(
        attendee=sessions.attendee_index(session.attendee_key) or {},
        session=MySession(created_at=current.created_at, expires_at=current.expires_at),
        sign_ins=[
            MySignIn(created_at=f.created_at, last_renewed=f.renewed_at) for f in sessions.families(session.session_id)
        ],
        commands_sent=current.commands,
    )


@router.delete(
    "/me",
    status_code=204,
    responses={
        204: {"description": "Erased; the token no longer works."},
        **error_responses(*EVERY_REQUEST, *EVENT_PHASE, *IGNORED_BODY, *SIGNED_IN),
    },
)
def erase_me(session: SessionDep, deps: ServicesDep) -> Response:
    """Erase every row about the caller and end their session on every device: their tokens stop working.

    Counts against the attendee's per-minute quota like every call that reaches storage.
    """
    deps.quotas.take_command(session.session_id, deps.settings.commands_per_minute, command=False)
    deps.sessions.erase(session)
    log.info("erasure completed")
    return Response(status_code=204)
