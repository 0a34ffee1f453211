"""Ships the code package through the Function App's own deployment endpoint, as a Pulumi resource.

Flex Consumption takes code through OneDeploy (`POST https://<scm host>/api/publish`), which
writes the package into the deployment container over the app's VNet with the app's identity.
The caller authenticates with an Azure AD token, so no storage key, SAS, public blob or
publishing password is involved. The resource's input is the package's sha256: `pulumi up`
redeploys when, and only when, the code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi.dynamic

# The token audience the SCM site accepts for Azure AD callers (Azure Resource Manager).
ARM_TOKEN_SCOPE = "https://management.azure.com/.default"  # noqa: S105 - a token audience, not a secret
PUBLISH_PATH = "/api/publish"
# type=zip: OneDeploy's package type. RemoteBuild=false: the package already holds its
# dependencies; a remote build would reinstall them from the index on Azure's side.
PUBLISH_QUERY = "type=zip&RemoteBuild=false&Deployer=eventstack"
ZIP_CONTENT_TYPE = "application/zip"
UPLOAD_TIMEOUT_SECONDS = 600
# Enough of a refusal's body to see why; never the whole page.
BODY_EXCERPT_CHARS = 500


class DeploymentRefusedError(RuntimeError):
    """The deployment endpoint did not take the package: status and a body excerpt, never the token."""


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


class OneDeployProvider(pulumi.dynamic.ResourceProvider):
    """Create/update POST the package to OneDeploy; delete leaves it (it goes with the app).

    `base_url` and `credential` exist for tests (a local stand-in and a fake token source);
    in a deployment both stay `None`: `https://<scm host>` and `DefaultAzureCredential`.
    Everything the methods need is imported inside them: Pulumi pickles this class into the
    state and runs it in a separate provider process.
    """

    # The pickled provider holds no secret: keep it readable in the state.
    serialize_as_secret_always = False

    def __init__(self, base_url: str | None = None, credential: TokenCredentialLike | None = None) -> None:
        super().__init__()
        self.base_url = base_url
        self.credential = credential

    def publish_url(self, scm_host: str) -> str:
        """Where the package goes: OneDeploy on the app's SCM host (or the injected stand-in)."""
        base = self.base_url if self.base_url is not None else f"https://{scm_host}"
        return f"{base.rstrip('/')}{PUBLISH_PATH}?{PUBLISH_QUERY}"

    def _token(self) -> str:
        credential = self.credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return credential.get_token(ARM_TOKEN_SCOPE).token

    def _publish(self, props: dict[str, Any]) -> dict[str, Any]:
        import hashlib
        import urllib.error
        import urllib.request
        from pathlib import Path

        scm_host, zip_path, zip_hash = str(props["scm_host"]), Path(props["zip_path"]), str(props["zip_hash"])
        body = zip_path.read_bytes()
        actual = hashlib.sha256(body).hexdigest()
        if actual != zip_hash:
            raise DeploymentRefusedError(
                f"{zip_path} hashes to {actual}, not {zip_hash}: the package changed after it was "
                "built. Run `pulumi up` again to rebuild it."
            )
        url = self.publish_url(scm_host)
        token = self._token()
        request = urllib.request.Request(  # noqa: S310 - https, or the stand-in injected by a test
            url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": ZIP_CONTENT_TYPE,
                "Content-Length": str(len(body)),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as refusal:
            raw = refusal.read(BODY_EXCERPT_CHARS * 4).decode("utf-8", "replace")
            excerpt = " ".join(raw.replace(token, "<token>").split())[:BODY_EXCERPT_CHARS]
            raise DeploymentRefusedError(
                f"the deployment endpoint refused the package: POST {url} answered HTTP "
                f"{refusal.code} {refusal.reason}: {excerpt or '(empty body)'}"
            ) from None
        except urllib.error.URLError as failure:
            raise DeploymentRefusedError(
                f"the deployment endpoint is unreachable: POST {url}: {failure.reason}"
            ) from None
        return {
            "scm_host": scm_host,
            "zip_path": str(zip_path),
            "zip_hash": zip_hash,
            "deployed_hash": zip_hash,
            "status": status,
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
            },
            opts,
        )
