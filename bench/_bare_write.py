"""The write path's floor: a bare ASGI handler that does only what an accepted POST /api/lights must.

It verifies the bearer token (PyJWT: ES256, audience, issuer, the claims the app requires), checks
the body against the same allowlist, and makes the same two table writes as the app: the
conditional replace of the session row that counts the command (ETag kept per session, so one
write when nothing raced), and the insert of the wall row. No framework, no guards, no quota
arithmetic: bench_api serves it with the same uvicorn, against the same Azurite, as its reference.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import jwt
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode
from eventapi.direct_transport import DIRECT_TRANSPORT
from eventapi.models import COLOR_PATTERN, Pattern
from eventapi.storage.sessions import SESSION_ROW
from eventapi.storage.tables import LIGHTS, SESSIONS, WRITTEN_AT
from starlette.concurrency import run_in_threadpool

PUBLIC_KEY_ENV = "BENCH_PUBLIC_KEY_PEM"
PATH = "/api/lights"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "aud", "iss", "sub", "jti"]
_PATTERNS = frozenset(pattern.value for pattern in Pattern)
_COLOR = re.compile(COLOR_PATTERN)
# The wall row's keys, as LightStore writes them.
_BUCKET_FORMAT = "wall-%Y%m%d%H"
_MAX_TICKS = 10**13

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _wall_row(pattern: str, color: str, now: datetime) -> tuple[str, dict[str, Any]]:
    light_id = secrets.token_hex(16)
    ticks = int(now.timestamp() * 1000)
    return light_id, {
        "PartitionKey": now.strftime(_BUCKET_FORMAT),
        "RowKey": f"{_MAX_TICKS - ticks:013d}-{light_id}",
        "id": light_id,
        "pattern": pattern,
        "color": color,
        WRITTEN_AT: now,
    }


def create_app() -> ASGIApp:
    """The handler, configured from the app's own environment variables (uvicorn's --factory target)."""
    env = os.environ
    # The app's own client settings: a reference with a costlier transport would flatter the app.
    service = TableServiceClient.from_connection_string(env["EVENTSTACK_STORAGE_CONNECTION_STRING"], **DIRECT_TRANSPORT)
    sessions, lights = service.get_table_client(SESSIONS), service.get_table_client(LIGHTS)
    key = env[PUBLIC_KEY_ENV]
    issuer, audience = env["EVENTSTACK_TOKEN_ISSUER"], env["EVENTSTACK_TOKEN_AUDIENCE"]
    # Each session row and its ETag, as the app's session store keeps them.
    known: dict[str, tuple[dict[str, Any], str]] = {}

    def count_command(session_id: str) -> bool:
        for _ in range(2):
            if session_id not in known:
                try:
                    row = sessions.get_entity(session_id, SESSION_ROW)
                except ResourceNotFoundError:
                    return False
                known[session_id] = (dict(row), str(row.metadata["etag"]))
            row_values, etag = known[session_id]
            updated = {**row_values, "count": int(row_values["count"]) + 1, "commands": int(row_values["commands"]) + 1}
            try:
                result = sessions.update_entity(
                    updated, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except ResourceModifiedError:
                del known[session_id]
                continue
            known[session_id] = (updated, str(result["etag"]))
            return True
        return False

    def accept(token: str, body: bytes) -> tuple[int, dict[str, str]]:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                audience=audience,
                issuer=issuer,
                options={"require": REQUIRED_CLAIMS},
            )
            command = json.loads(body)
        except (jwt.InvalidTokenError, ValueError):
            return 401, {"error": "unauthorized"}
        pattern, color = command.get("pattern"), command.get("color")
        if set(command) != {"pattern", "color"} or pattern not in _PATTERNS or not _COLOR.fullmatch(str(color)):
            return 422, {"error": "validation_error"}
        if not count_command(str(claims["sub"])):
            return 401, {"error": "unauthorized"}
        light_id, entity = _wall_row(pattern, str(color).lower(), datetime.now(UTC))
        lights.create_entity(entity)
        return 202, {"id": light_id}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            status, answer = 404, {"error": "not_found"}
        else:
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            headers = dict(scope["headers"])
            token = headers.get(b"authorization", b"").decode("latin-1").removeprefix("Bearer ")
            # Table calls block: off the event loop, as FastAPI runs the app's sync routes.
            status, answer = await run_in_threadpool(accept, token, body)
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app
