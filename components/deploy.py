"""Ships the code package through the Function App's own deployment endpoint, as a Pulumi resource.

Flex Consumption takes code through OneDeploy (`POST https://<scm host>/api/publish`), which
writes the package into the deployment container over the app's VNet with the app's identity.
The caller authenticates with an Azure AD token, so no storage key, SAS, public blob or
publishing password is involved. The resource's input is the package's sha256: `pulumi up`
redeploys when, and only when, the code changes.

The POST only starts a deployment: it answers with the deployment's id, and success or failure is
known only from `GET /api/deployments/<id>` (Azure/azure-dev#3658; a task that stopped at the POST
reported a failed deployment as a success, microsoft/azure-pipelines-tasks#22316). So the provider
polls until the status is final, bounded, and fails `pulumi up` with the platform's own message.
On a first `pulumi up` the app's storage grant may not have applied yet (role assignments can
take up to 10 minutes, Key Vault's RBAC guide): the upload then answers 403
(Azure/azure-dev#4439), and the provider retries it, bounded, before giving up with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi.dynamic

# The token audience the SCM site accepts for Azure AD callers (Azure Resource Manager).
ARM_TOKEN_SCOPE = "https://management.azure.com/.default"  # noqa: S105 - a token audience, not a secret
PUBLISH_PATH = "/api/publish"
DEPLOYMENTS_PATH = "/api/deployments"
# What to poll when the POST names no deployment.
LATEST_DEPLOYMENT = "latest"
# type=zip: OneDeploy's package type. RemoteBuild=false: the package already holds its
# dependencies; a remote build would reinstall them from the index on Azure's side.
PUBLISH_QUERY = "type=zip&RemoteBuild=false&Deployer=eventstack"
ZIP_CONTENT_TYPE = "application/zip"
UPLOAD_TIMEOUT_SECONDS = 600
STATUS_TIMEOUT_SECONDS = 30
# Enough of a refusal's body to see why; never the whole page.
BODY_EXCERPT_CHARS = 500

# 403 on the upload while the app's storage grant propagates: retried for as long as a role
# assignment may take to apply (up to 10 minutes, Key Vault RBAC guide), then refused.
FORBIDDEN = 403
GRANT_PROPAGATION_SECONDS = 11 * 60
GRANT_RETRY_INTERVAL_SECONDS = 20.0
# A Flex deployment takes a minute or two; past this something is stuck.
DEPLOYMENT_TIMEOUT_SECONDS = 15 * 60
# azure-dev#3658 warns against polling more often than every 2 seconds.
STATUS_POLL_INTERVAL_SECONDS = 5.0

# Kudu deployment statuses (Azure/azure-dev#3658): -1 cancelled, 0 pending, 1 building,
# 2 deploying, 3 failed, 4 success, 5 conflict, 6 partial success. Only 4 is a deployed app.
STATUS_SUCCESS = 4
FINAL_STATUSES: dict[int, str] = {
    -1: "was cancelled",
    3: "failed",
    4: "succeeded",
    5: "collided with another deployment",
    6: "only partly succeeded",
}


# How a refusal for want of a role reads: the SCM site's 403, or storage's own inside a failed
# deployment ("403 (This request is not authorized to perform this operation.)").
AUTHORIZATION_FAILURE = re.compile(r"\b403\b|forbidden|not authorized|AuthorizationPermissionMismatch", re.IGNORECASE)


class DeploymentRefusedError(RuntimeError):
    """The deployment endpoint did not take the package: status and a body excerpt, never the token."""


class DeploymentFailedError(RuntimeError):
    """The platform took the package but the deployment did not succeed: its status and message."""


class AccessTokenLike(Protocol):
    @property
    def token(self) -> str: ...


class TokenCredentialLike(Protocol):
    """What the provider needs of an azure-identity credential."""

    def get_token(self, *scopes: str) -> AccessTokenLike: ...


@dataclass(frozen=True)
class CodeDeploymentArgs:
    """What is deployed where."""

    scm_host: pulumi.Input[str]
    """The app's deployment (SCM) host name, e.g. `func-x.scm.azurewebsites.net`."""
    zip_path: pulumi.Input[str]
    """The package built by `components.package` on this machine."""
    zip_hash: pulumi.Input[str]
    """The package's sha256: the only input whose change redeploys."""


@dataclass(frozen=True)
class Bounds:
    """How long the provider waits, and how often it asks (tests shorten them)."""

    grant_propagation_seconds: float = GRANT_PROPAGATION_SECONDS
    grant_retry_interval_seconds: float = GRANT_RETRY_INTERVAL_SECONDS
    deployment_timeout_seconds: float = DEPLOYMENT_TIMEOUT_SECONDS
    status_poll_interval_seconds: float = STATUS_POLL_INTERVAL_SECONDS


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str
    body: str


def _excerpt(body: str, token: str) -> str:
    return " ".join(body.replace(token, "<token>").split())[:BODY_EXCERPT_CHARS] or "(empty body)"


def deployment_id(body: str) -> str:
    """The id in the POST's answer: a bare or JSON-quoted string (azure-dev#3658); '' for none."""
    import json

    text = body.strip()
    try:
        parsed = json.loads(text) if text else ""
    except ValueError:
        parsed = text
    if isinstance(parsed, dict):
        parsed = parsed.get("id", "")
    candidate = str(parsed).strip()
    # An id goes into a URL path: anything else (an HTML page, a sentence) is not one.
    return candidate if candidate and all(c.isalnum() or c in "-_" for c in candidate) else ""


def _grant_hint(attempts: int, bounds: Bounds) -> str:
    return (
        f" (after {attempts} attempts over {bounds.grant_propagation_seconds:.0f} s). A new role assignment can "
        "take up to 10 minutes to apply: if the app's storage grant is new, run `pulumi up` again; if not, "
        "check the deployment endpoint's access restrictions (deployFromCidrs) and the deploying identity's "
        "role on the app"
    )


def failure_message(status: dict[str, Any]) -> str:
    """What the platform says about a deployment, from its status record."""
    parts = [str(status.get(key) or "").strip() for key in ("status_text", "message", "progress")]
    said = "; ".join(part for part in parts if part) or "(no message)"
    log_url = status.get("log_url")
    return f"{said}. Deployment log: {log_url}" if log_url else said


class OneDeployProvider(pulumi.dynamic.ResourceProvider):
    """Create/update POST the package to OneDeploy and wait for its final status; delete leaves it.

    `base_url`, `credential`, `bounds`, `clock` and `sleep` exist for tests (a local stand-in, a
    fake token source, short bounds, a fake clock); in a deployment they stay at their defaults:
    `https://<scm host>`, `DefaultAzureCredential`, the bounds above, the real clock. Everything
    the methods need is imported inside them: Pulumi pickles this class into the state and runs it
    in a separate provider process.
    """

    # The pickled provider holds no secret: keep it readable in the state.
    serialize_as_secret_always = False

    def __init__(
        self,
        base_url: str | None = None,
        credential: TokenCredentialLike | None = None,
        bounds: Bounds | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url
        self.credential = credential
        self.bounds = bounds
        self.clock = clock
        self.sleep = sleep

    def _base(self, scm_host: str) -> str:
        base = self.base_url if self.base_url is not None else f"https://{scm_host}"
        return base.rstrip("/")

    def publish_url(self, scm_host: str) -> str:
        """Where the package goes: OneDeploy on the app's SCM host (or the injected stand-in)."""
        return f"{self._base(scm_host)}{PUBLISH_PATH}?{PUBLISH_QUERY}"

    def status_url(self, scm_host: str, deployment: str) -> str:
        """Where a deployment's status is read."""
        return f"{self._base(scm_host)}{DEPLOYMENTS_PATH}/{deployment or LATEST_DEPLOYMENT}"

    def _token(self) -> str:
        credential = self.credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return credential.get_token(ARM_TOKEN_SCOPE).token

    def _now(self) -> float:
        import time

        return (self.clock or time.monotonic)()

    def _wait(self, seconds: float) -> None:
        import time

        (self.sleep or time.sleep)(seconds)

    def _call(self, method: str, url: str, token: str, body: bytes | None = None, timeout: float = 30) -> _Answer:
        import urllib.error
        import urllib.request

        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers |= {"Content-Type": ZIP_CONTENT_TYPE, "Content-Length": str(len(body))}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - https, or a test's stand-in
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return _Answer(int(response.status), str(response.reason), response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as refusal:
            raw = refusal.read(BODY_EXCERPT_CHARS * 4).decode("utf-8", "replace")
            return _Answer(int(refusal.code), str(refusal.reason), raw)
        except urllib.error.URLError as failure:
            raise DeploymentRefusedError(
                f"the deployment endpoint is unreachable: {method} {url}: {failure.reason}"
            ) from None

    def _refused(self, url: str, answer: _Answer, token: str, hint: str = "") -> DeploymentRefusedError:
        return DeploymentRefusedError(
            f"the deployment endpoint refused the package: POST {url} answered HTTP "
            f"{answer.status} {answer.reason}: {_excerpt(answer.body, token)}{hint}"
        )

    def _final_status(self, url: str, token: str) -> dict[str, Any]:
        """Poll the deployment's status until it is final, within the bound."""
        import json

        bounds = self.bounds or Bounds()
        deadline = self._now() + bounds.deployment_timeout_seconds
        last = "no answer yet"
        while True:
            answer = self._call("GET", url, token, timeout=STATUS_TIMEOUT_SECONDS)
            if answer.status == 200:
                try:
                    record = json.loads(answer.body)
                except ValueError:
                    record = None
                status = record.get("status") if isinstance(record, dict) else None
                if isinstance(status, int) and status in FINAL_STATUSES:
                    return dict(record)
                last = f"status {status!r}" + (
                    f" ({record.get('progress')})" if isinstance(record, dict) and record.get("progress") else ""
                )
            else:
                # Right after the POST the record may not exist yet (404); a hiccup is not a verdict.
                last = f"HTTP {answer.status} {answer.reason}: {_excerpt(answer.body, token)}"
            if self._now() + bounds.status_poll_interval_seconds > deadline:
                raise DeploymentFailedError(
                    f"the deployment did not finish within {bounds.deployment_timeout_seconds:.0f} s: GET {url} "
                    f"last answered {last}. It may still complete: check the app's deployments, "
                    "then run `pulumi up` again"
                )
            self._wait(bounds.status_poll_interval_seconds)

    def _publish(self, props: dict[str, Any]) -> dict[str, Any]:
        import hashlib
        from pathlib import Path

        scm_host, zip_path, zip_hash = str(props["scm_host"]), Path(props["zip_path"]), str(props["zip_hash"])
        body = zip_path.read_bytes()
        actual = hashlib.sha256(body).hexdigest()
        if actual != zip_hash:
            raise DeploymentRefusedError(
                f"{zip_path} hashes to {actual}, not {zip_hash}: the package changed after it was "
                "built. Run `pulumi up` again to rebuild it."
            )
        token = self._token()
        url = self.publish_url(scm_host)
        bounds = self.bounds or Bounds()
        # The grant may show either as a 403 on the POST or as a deployment that failed on the
        # platform's own 403 from storage (Azure/azure-functions-core-tools#4346): both are retried
        # until a new role assignment must have applied.
        grant_deadline = self._now() + bounds.grant_propagation_seconds
        attempts = 0
        deployment = ""
        while True:
            attempts += 1
            accepted = self._call("POST", url, token, body, timeout=UPLOAD_TIMEOUT_SECONDS)
            record: dict[str, Any] | None = None
            if accepted.status < 400:
                deployment = deployment_id(accepted.body)
                record = self._final_status(self.status_url(scm_host, deployment), token)
                if int(record["status"]) == STATUS_SUCCESS:
                    break
            elif accepted.status != FORBIDDEN:
                raise self._refused(url, accepted, token)
            denied = record is None or bool(AUTHORIZATION_FAILURE.search(failure_message(record)))
            if not denied or self._now() + bounds.grant_retry_interval_seconds > grant_deadline:
                if record is None:
                    raise self._refused(url, accepted, token, _grant_hint(attempts, bounds))
                final = int(record["status"])
                raise DeploymentFailedError(
                    f"the deployment {record.get('id') or deployment or LATEST_DEPLOYMENT} {FINAL_STATUSES[final]} "
                    f"(status {final}): {_excerpt(failure_message(record), token)}"
                    + (_grant_hint(attempts, bounds) if denied else "")
                )
            self._wait(bounds.grant_retry_interval_seconds)
        assert record is not None  # noqa: S101 - the loop leaves only on a success record
        return {
            "scm_host": scm_host,
            "zip_path": str(zip_path),
            "zip_hash": zip_hash,
            "deployed_hash": zip_hash,
            "status": accepted.status,
            "deployment_id": str(record.get("id") or deployment),
        }

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        outs = self._publish(props)
        return pulumi.dynamic.CreateResult(id_=f"onedeploy:{outs['scm_host']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Changed only when the package hash or the target app changes; the zip's path never counts."""
        changed = [key for key in ("zip_hash", "scm_host") if olds.get(key) != news.get(key)]
        # Another app is another deployment; the old one needs no clean-up.
        replaces = ["scm_host"] if "scm_host" in changed else []
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=self._publish(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the package lives in the app's deployment container and goes with the app."""


class CodeDeployment(pulumi.dynamic.Resource, module="eventstack", name="CodeDeployment"):
    """The function code, deployed to one Function App; redeployed when its hash changes."""

    scm_host: pulumi.Output[str]
    zip_hash: pulumi.Output[str]
    deployed_hash: pulumi.Output[str]
    deployment_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: CodeDeploymentArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: OneDeployProvider | None = None,
    ) -> None:
        super().__init__(
            provider or OneDeployProvider(),
            name,
            {
                "scm_host": args.scm_host,
                "zip_path": args.zip_path,
                "zip_hash": args.zip_hash,
                "deployed_hash": None,
                "status": None,
                "deployment_id": None,
            },
            opts,
        )
