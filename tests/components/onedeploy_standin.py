"""A local stand-in for a Flex Consumption app's deployment (SCM) endpoints, as strict as documented.

What it answers, and where that comes from:
- `POST /api/publish`: a bearer token and a zip body are required (401 / 415 otherwise); the
  answer is 202 with the new deployment's id as the body (Azure/azure-dev#3658: "The response body
  for api/publish is the deployment ID").
- `GET /api/deployments/<id>` and `/api/deployments/latest`: the deployment record with `id`,
  `status` (-1 cancelled, 0 pending, 1 building, 2 deploying, 3 failed, 4 success, 5 conflict,
  6 partial success), `status_text`, `complete`, `log_url` (azure-dev#3658); 404 for an id it never
  issued. A deployment passes through pending, building and deploying before its final status,
  so a client that stops at the POST, or at the first answer, never sees the outcome.
- While the app's storage grant has not applied, the upload is refused with 403
  (Azure/azure-dev#4439), or the deployment fails on storage's own 403
  (Azure/azure-functions-core-tools#4346): `forbidden_uploads` and `denied_deployments` play both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dev.http import serve_in_background

PUBLISH_PATH = "/api/publish"
DEPLOYMENTS_PREFIX = "/api/deployments/"
ZIP_CONTENT_TYPE = "application/zip"
# Statuses a deployment passes through before its final one.
IN_PROGRESS = (0, 1, 2)
SUCCESS = 4
FAILED = 3
# The text a Flex deployment fails with when storage refuses the app's identity
# (Azure/azure-functions-core-tools#4346).
STORAGE_DENIED = (
    "Failed to upload because Azure Storage responded with Forbidden : Response status code does not "
    "indicate success: 403 (This request is not authorized to perform this operation.)."
)
# The body of the SCM site's own 403.
FORBIDDEN_PAGE = "<html><head><title>403 - Forbidden</title></head><body>Forbidden</body></html>"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Outcome:
    """How a deployment ends: its final status and what the platform says about it."""

    status: int = SUCCESS
    status_text: str = ""
    message: str = ""


@dataclass
class OneDeployStandIn:
    """The SCM site of one app: records every request and plays the scripted answers."""

    token: str
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    forbidden_uploads: int = 0
    """How many uploads are answered 403 before one is taken (a grant still propagating)."""
    denied_deployments: int = 0
    """How many taken deployments then fail on storage's 403 (the same, seen later)."""
    outcome: Outcome = field(default_factory=Outcome)
    """How a deployment that is not denied ends."""
    polls_before_final: int = len(IN_PROGRESS)
    """How many status reads answer an in-progress status before the final one."""
    refusal_status: int | None = None
    """Answer every upload with this status instead (a plain refusal)."""
    refusal_body: bytes = b""
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    latest: str = ""

    @property
    def uploads(self) -> list[Received]:
        return [r for r in self.received if r.method == "POST"]

    @property
    def status_reads(self) -> list[Received]:
        return [r for r in self.received if r.method == "GET"]

    def publish(self, request: Received) -> tuple[int, str, bytes]:
        if self.refusal_status is not None:
            return self.refusal_status, "text/plain", self.refusal_body
        if request.headers.get("Content-Type") != ZIP_CONTENT_TYPE or not request.body:
            return 415, "text/plain", b"Unsupported media type: OneDeploy with type=zip takes a zip body"
        if len(self.uploads) <= self.forbidden_uploads:
            return 403, "text/html", FORBIDDEN_PAGE.encode()
        deployment = str(uuid.uuid4())
        taken = len(self.uploads) - self.forbidden_uploads
        outcome = Outcome(FAILED, "Deployment failed.", STORAGE_DENIED) if taken <= self.denied_deployments else None
        final = outcome or self.outcome
        self.deployments[deployment] = {
            "id": deployment,
            "status_text": final.status_text,
            "message": final.message,
            "final": final.status,
            "log_url": f"{self.base_url}/api/deployments/{deployment}/log",
        }
        self.polls[deployment] = 0
        self.latest = deployment
        return 202, "application/json", json.dumps(deployment).encode()

    def status(self, deployment: str) -> tuple[int, str, bytes]:
        if deployment == "latest":
            deployment = self.latest
        record = self.deployments.get(deployment)
        if record is None:
            return 404, "text/plain", b"Deployment not found"
        polls = self.polls[deployment]
        self.polls[deployment] = polls + 1
        done = polls >= self.polls_before_final
        status = record["final"] if done else IN_PROGRESS[min(polls, len(IN_PROGRESS) - 1)]
        answer = {
            "id": record["id"],
            "status": status,
            "status_text": record["status_text"] if done else "",
            "message": record["message"] if done else "",
            "progress": "" if done else "Building and deploying",
            "complete": done,
            "active": done and status == SUCCESS,
            "log_url": record["log_url"],
            "site_name": "func-confdemo",
        }
        return 200, "application/json", json.dumps(answer).encode()


@contextmanager
def serve(token: str) -> Iterator[OneDeployStandIn]:
    """Serve a stand-in on a free local port for the duration of the block."""
    stand_in = OneDeployStandIn(token=token)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, method: str) -> Received | None:
            length = int(self.headers.get("Content-Length", "0"))
            received = Received(method, self.path, dict(self.headers.items()), self.rfile.read(length))
            stand_in.received.append(received)
            if self.headers.get("Authorization") != f"Bearer {stand_in.token}":
                self._answer(401, "text/plain", b"Unauthorized")
                return None
            return received

        def do_POST(self) -> None:
            received = self._record("POST")
            if received is None:
                return
            if self.path.split("?", 1)[0] != PUBLISH_PATH:
                self._answer(404, "text/plain", b"Not found")
                return
            self._answer(*stand_in.publish(received))

        def do_GET(self) -> None:
            if self._record("GET") is None:
                return
            if not self.path.startswith(DEPLOYMENTS_PREFIX):
                self._answer(404, "text/plain", b"Not found")
                return
            self._answer(*stand_in.status(self.path[len(DEPLOYMENTS_PREFIX) :]))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    serve_in_background(server)
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
