"""The deployment provider against a local stand-in of OneDeploy: URL, token, body, diff, refusals."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.deploy import (
    ARM_TOKEN_SCOPE,
    BODY_EXCERPT_CHARS,
    CodeDeployment,
    CodeDeploymentArgs,
    DeploymentRefusedError,
    OneDeployProvider,
)
from dev.offline import ROOT, RecordingMonitor

TOKEN = "eyJ0eXAiOiJKV1QifQ.fake-arm-token.signature"
SCM_HOST = "func-confdemo.scm.azurewebsites.net"
PUBLISH_PATH_AND_QUERY = "/api/publish?type=zip&RemoteBuild=false&Deployer=eventstack"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """A local OneDeploy: records every request and answers with `status` and `body`."""

    base_url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    body: bytes = b""


@pytest.fixture
def onedeploy() -> Iterator[StandIn]:
    stand_in = StandIn(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            stand_in.received.append(Received("POST", self.path, dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(stand_in.status)
            self.send_header("Content-Length", str(len(stand_in.body)))
            self.end_headers()
            self.wfile.write(stand_in.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()


@dataclass
class FakeToken:
    token: str


@dataclass
class FakeCredential:
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str) -> FakeToken:
        self.scopes.append(scopes)
        return FakeToken(TOKEN)


def _package(tmp_path: Path, content: bytes = b"PK\x05\x06" + bytes(18)) -> dict[str, Any]:
    path = tmp_path / f"bundle-{hashlib.sha256(content).hexdigest()[:8]}.zip"
    path.write_bytes(content)
    return {"scm_host": SCM_HOST, "zip_path": str(path), "zip_hash": hashlib.sha256(content).hexdigest()}


def _provider(stand_in: StandIn, credential: FakeCredential | None = None) -> OneDeployProvider:
    return OneDeployProvider(base_url=stand_in.base_url, credential=credential or FakeCredential())


def test_create_posts_the_zip_to_onedeploy_with_a_bearer_token(onedeploy: StandIn, tmp_path: Path) -> None:
    props = _package(tmp_path, b"the package bytes")
    credential = FakeCredential()
    result = _provider(onedeploy, credential).create(props)

    [request] = onedeploy.received
    assert request.method == "POST"
    assert request.path == PUBLISH_PATH_AND_QUERY
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/zip"
    assert request.body == b"the package bytes"
    assert credential.scopes == [(ARM_TOKEN_SCOPE,)]
    assert result.outs is not None
    assert result.outs["deployed_hash"] == props["zip_hash"]
    assert result.outs["status"] == 200
    assert SCM_HOST in result.id


def test_in_azure_the_package_goes_to_the_scm_host_over_https() -> None:
    assert OneDeployProvider().publish_url(SCM_HOST) == f"https://{SCM_HOST}{PUBLISH_PATH_AND_QUERY}"


def test_an_accepted_asynchronous_deployment_counts_as_deployed(onedeploy: StandIn, tmp_path: Path) -> None:
    onedeploy.status = 202
    result = _provider(onedeploy).create(_package(tmp_path))
    assert result.outs is not None
    assert result.outs["status"] == 202


def test_the_same_hash_is_no_change_wherever_the_zip_lies(tmp_path: Path) -> None:
    olds = _package(tmp_path)
    news = {**olds, "zip_path": "/elsewhere/on/another/machine.zip"}
    diff = OneDeployProvider().diff("id", olds, news)
    assert diff.changes is False
    assert not diff.replaces


def test_a_new_hash_is_an_update_in_place(tmp_path: Path) -> None:
    olds = _package(tmp_path, b"old code")
    news = _package(tmp_path, b"new code")
    diff = OneDeployProvider().diff("id", olds, news)
    assert diff.changes is True
    assert not diff.replaces


def test_another_app_is_a_replacement(tmp_path: Path) -> None:
    olds = _package(tmp_path)
    news = {**olds, "scm_host": "func-other.scm.azurewebsites.net"}
    diff = OneDeployProvider().diff("id", olds, news)
    assert diff.changes is True
    assert diff.replaces == ["scm_host"]


def test_update_posts_the_new_package(onedeploy: StandIn, tmp_path: Path) -> None:
    provider = _provider(onedeploy)
    olds = _package(tmp_path, b"old code")
    provider.create(olds)
    news = _package(tmp_path, b"new code")
    result = provider.update("id", olds, news)
    assert [r.body for r in onedeploy.received] == [b"old code", b"new code"]
    assert result.outs is not None
    assert result.outs["deployed_hash"] == hashlib.sha256(b"new code").hexdigest()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 415, 500, 503])
def test_a_refusal_names_status_and_body_but_never_the_token(onedeploy: StandIn, tmp_path: Path, status: int) -> None:
    onedeploy.status = status
    # A server that echoes the Authorization header must not get the token into the error.
    onedeploy.body = f"Deployment failed: app setting WEBSITE_RUN_FROM_PACKAGE is not supported ({TOKEN})".encode()
    with pytest.raises(DeploymentRefusedError) as refused:
        _provider(onedeploy).create(_package(tmp_path))
    message = str(refused.value)
    assert f"HTTP {status}" in message
    assert PUBLISH_PATH_AND_QUERY in message
    assert "WEBSITE_RUN_FROM_PACKAGE is not supported" in message
    assert TOKEN not in message
    assert "fake-arm-token" not in message


def test_a_long_refusal_body_is_cut_to_an_excerpt(onedeploy: StandIn, tmp_path: Path) -> None:
    onedeploy.status = 500
    onedeploy.body = b"x" * 100_000
    with pytest.raises(DeploymentRefusedError) as refused:
        _provider(onedeploy).create(_package(tmp_path))
    assert "HTTP 500" in str(refused.value)
    assert str(refused.value).count("x") <= BODY_EXCERPT_CHARS + 10


def test_a_package_changed_since_it_was_hashed_is_not_sent(onedeploy: StandIn, tmp_path: Path) -> None:
    props = _package(tmp_path, b"built")
    Path(props["zip_path"]).write_bytes(b"tampered")
    with pytest.raises(DeploymentRefusedError, match="changed after it was built"):
        _provider(onedeploy).create(props)
    assert onedeploy.received == []


def test_an_unreachable_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    provider = OneDeployProvider(base_url=f"http://127.0.0.1:{closed_port}", credential=FakeCredential())
    with pytest.raises(DeploymentRefusedError, match="unreachable"):
        provider.create(_package(tmp_path))


def test_the_provider_survives_pulumis_serialization() -> None:
    """Pulumi pickles the provider into the state and loads it in a provider process started in the project."""
    serialized = serialize_provider(OneDeployProvider())
    loader = (
        "import base64, sys, dill\n"
        "provider = dill.loads(base64.b64decode(sys.stdin.read()))\n"
        f"print(provider.publish_url({SCM_HOST!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", loader], input=serialized, capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"https://{SCM_HOST}{PUBLISH_PATH_AND_QUERY}"


def test_the_resource_sends_host_path_and_hash(fresh_mocks: RecordingMonitor) -> None:
    @pulumi.runtime.test
    def register() -> pulumi.Output[str]:
        deployment = CodeDeployment(
            "code", CodeDeploymentArgs(scm_host=SCM_HOST, zip_path="/build/bundle.zip", zip_hash="ab" * 32)
        )
        return deployment.zip_hash

    register()
    [resource] = [r for r in fresh_mocks.registered if r.name == "code"]
    assert resource.type == "pulumi-python:dynamic/eventstack:CodeDeployment"
    assert resource.inputs["scm_host"] == SCM_HOST
    assert resource.inputs["zip_path"] == "/build/bundle.zip"
    assert resource.inputs["zip_hash"] == "ab" * 32
    assert "__provider" in resource.inputs
    assert "__provider" not in resource.secret_inputs
