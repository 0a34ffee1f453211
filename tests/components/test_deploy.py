"""The deployment provider against a local stand-in of OneDeploy: URL, token, body, diff, refusals."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.deploy import (
    ARM_TOKEN_SCOPE,
    BODY_EXCERPT_CHARS,
    GRANT_PROPAGATION_SECONDS,
    Bounds,
    CodeDeployment,
    CodeDeploymentArgs,
    DeploymentFailedError,
    DeploymentRefusedError,
    OneDeployProvider,
    deployment_id,
)
from dev.offline import ROOT, RecordingMonitor
from tests.components.onedeploy_standin import FAILED, STORAGE_DENIED, OneDeployStandIn, Outcome, serve

TOKEN = "eyJ0eXAiOiJKV1QifQ.fake-arm-token.signature"
SCM_HOST = "func-confdemo.scm.azurewebsites.net"
PUBLISH_PATH_AND_QUERY = "/api/publish?type=zip&RemoteBuild=false&Deployer=eventstack"


@pytest.fixture
def onedeploy() -> Iterator[OneDeployStandIn]:
    with serve(TOKEN) as stand_in:
        yield stand_in


@dataclass
class FakeClock:
    """Time that passes only when the provider waits: bounds are counted, never timed."""

    now: float = 0.0
    waits: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


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


def _provider(
    stand_in: OneDeployStandIn, credential: FakeCredential | None = None, clock: FakeClock | None = None
) -> OneDeployProvider:
    clock = clock or FakeClock()
    return OneDeployProvider(
        base_url=stand_in.base_url, credential=credential or FakeCredential(), clock=clock, sleep=clock.sleep
    )


def test_create_posts_the_zip_to_onedeploy_with_a_bearer_token(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    props = _package(tmp_path, b"the package bytes")
    credential = FakeCredential()
    result = _provider(onedeploy, credential).create(props)

    [request] = onedeploy.uploads
    assert request.method == "POST"
    assert request.path == PUBLISH_PATH_AND_QUERY
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/zip"
    assert request.body == b"the package bytes"
    assert credential.scopes == [(ARM_TOKEN_SCOPE,)]
    assert result.outs is not None
    assert result.outs["deployed_hash"] == props["zip_hash"]
    assert result.outs["status"] == 202
    assert result.outs["deployment_id"] in onedeploy.deployments
    assert SCM_HOST in result.id


def test_in_azure_the_package_goes_to_the_scm_host_over_https() -> None:
    assert OneDeployProvider().publish_url(SCM_HOST) == f"https://{SCM_HOST}{PUBLISH_PATH_AND_QUERY}"


def test_create_waits_for_the_deployments_final_status(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    clock = FakeClock()
    result = _provider(onedeploy, clock=clock).create(_package(tmp_path))
    assert result.outs is not None
    deployment = result.outs["deployment_id"]
    # Pending, building, deploying, then success: every read of this deployment, with the token.
    assert [r.path for r in onedeploy.status_reads] == [f"/api/deployments/{deployment}"] * 4
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in onedeploy.status_reads)
    assert len(clock.waits) == 3


def test_a_failed_deployment_fails_the_update_with_the_platforms_message(
    onedeploy: OneDeployStandIn, tmp_path: Path
) -> None:
    onedeploy.outcome = Outcome(FAILED, "Deployment failed.", "ModuleNotFoundError: No module named 'eventapi'")
    with pytest.raises(DeploymentFailedError) as failed:
        _provider(onedeploy).create(_package(tmp_path))
    message = str(failed.value)
    assert "failed (status 3)" in message
    assert "ModuleNotFoundError: No module named 'eventapi'" in message
    assert "Deployment failed." in message
    assert onedeploy.latest in message
    # A failure that is not about access is not retried.
    assert len(onedeploy.uploads) == 1


@pytest.mark.parametrize(("status", "word"), [(-1, "cancelled"), (5, "collided"), (6, "partly")])
def test_any_final_status_but_success_fails_the_update(
    onedeploy: OneDeployStandIn, tmp_path: Path, status: int, word: str
) -> None:
    onedeploy.outcome = Outcome(status, f"ended with {status}")
    with pytest.raises(DeploymentFailedError, match=f"{word}.* \\(status {status}\\): ended with {status}"):
        _provider(onedeploy).create(_package(tmp_path))


def test_a_deployment_that_never_finishes_fails_at_the_bound(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    onedeploy.polls_before_final = 10_000
    clock = FakeClock()
    with pytest.raises(DeploymentFailedError, match="did not finish within 900 s") as failed:
        _provider(onedeploy, clock=clock).create(_package(tmp_path))
    assert "status 2" in str(failed.value)
    assert clock.now <= Bounds().deployment_timeout_seconds
    assert len(onedeploy.status_reads) == 1 + int(
        Bounds().deployment_timeout_seconds // Bounds().status_poll_interval_seconds
    )


def test_a_403_that_clears_within_the_bound_is_retried(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    onedeploy.forbidden_uploads = 3
    clock = FakeClock()
    result = _provider(onedeploy, clock=clock).create(_package(tmp_path, b"the package"))
    assert result.outs is not None
    assert result.outs["deployed_hash"] == hashlib.sha256(b"the package").hexdigest()
    assert [r.body for r in onedeploy.uploads] == [b"the package"] * 4
    assert clock.now < GRANT_PROPAGATION_SECONDS


def test_a_deployment_failed_on_storages_403_is_retried_too(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    onedeploy.denied_deployments = 2
    result = _provider(onedeploy).create(_package(tmp_path))
    assert result.outs is not None
    assert len(onedeploy.uploads) == 3
    assert result.outs["deployment_id"] == onedeploy.latest


def test_a_403_that_outlasts_the_bound_fails_with_what_to_do(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    onedeploy.forbidden_uploads = 10_000
    clock = FakeClock()
    with pytest.raises(DeploymentRefusedError) as refused:
        _provider(onedeploy, clock=clock).create(_package(tmp_path))
    message = str(refused.value)
    assert "HTTP 403" in message
    assert "up to 10 minutes" in message
    assert "run `pulumi up` again" in message
    # Bounded: it waited no longer than a grant can take, and did not hammer the endpoint.
    assert clock.now <= GRANT_PROPAGATION_SECONDS
    assert 2 < len(onedeploy.uploads) <= 1 + GRANT_PROPAGATION_SECONDS // Bounds().grant_retry_interval_seconds


def test_storages_403_that_outlasts_the_bound_fails_with_the_platforms_message(
    onedeploy: OneDeployStandIn, tmp_path: Path
) -> None:
    onedeploy.denied_deployments = 10_000
    with pytest.raises(DeploymentFailedError) as failed:
        _provider(onedeploy).create(_package(tmp_path))
    assert STORAGE_DENIED in str(failed.value)
    assert "up to 10 minutes" in str(failed.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('"3f394416-b25a-4e42-aa01-02a1f011772e"', "3f394416-b25a-4e42-aa01-02a1f011772e"),
        ("3f394416-b25a-4e42-aa01-02a1f011772e\n", "3f394416-b25a-4e42-aa01-02a1f011772e"),
        ('{"id": "abc-123"}', "abc-123"),
        ("", ""),
        ("<html>Accepted</html>", ""),
        ('"../../api/vfs"', ""),
    ],
)
def test_the_deployment_id_is_read_from_the_answer_or_left_out(body: str, expected: str) -> None:
    assert deployment_id(body) == expected


def test_without_an_id_the_latest_deployment_is_polled() -> None:
    provider = OneDeployProvider()
    assert provider.status_url(SCM_HOST, "") == f"https://{SCM_HOST}/api/deployments/latest"
    assert provider.status_url(SCM_HOST, "abc") == f"https://{SCM_HOST}/api/deployments/abc"


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


def test_update_posts_the_new_package(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    provider = _provider(onedeploy)
    olds = _package(tmp_path, b"old code")
    provider.create(olds)
    news = _package(tmp_path, b"new code")
    result = provider.update("id", olds, news)
    assert [r.body for r in onedeploy.uploads] == [b"old code", b"new code"]
    assert result.outs is not None
    assert result.outs["deployed_hash"] == hashlib.sha256(b"new code").hexdigest()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 415, 500, 503])
def test_a_refusal_names_status_and_body_but_never_the_token(
    onedeploy: OneDeployStandIn, tmp_path: Path, status: int
) -> None:
    onedeploy.refusal_status = status
    # A server that echoes the Authorization header must not get the token into the error.
    onedeploy.refusal_body = (
        f"Deployment failed: app setting WEBSITE_RUN_FROM_PACKAGE is not supported ({TOKEN})".encode()
    )
    with pytest.raises(DeploymentRefusedError) as refused:
        _provider(onedeploy).create(_package(tmp_path))
    message = str(refused.value)
    assert f"HTTP {status}" in message
    assert PUBLISH_PATH_AND_QUERY in message
    assert "WEBSITE_RUN_FROM_PACKAGE is not supported" in message
    assert TOKEN not in message
    assert "fake-arm-token" not in message


def test_a_long_refusal_body_is_cut_to_an_excerpt(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
    onedeploy.refusal_status = 500
    onedeploy.refusal_body = b"x" * 100_000
    with pytest.raises(DeploymentRefusedError) as refused:
        _provider(onedeploy).create(_package(tmp_path))
    assert "HTTP 500" in str(refused.value)
    assert str(refused.value).count("x") <= BODY_EXCERPT_CHARS + 10


def test_a_package_changed_since_it_was_hashed_is_not_sent(onedeploy: OneDeployStandIn, tmp_path: Path) -> None:
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
