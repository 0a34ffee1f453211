"""Standard OAuth 2.0 client libraries sign in unchanged, from the published metadata alone.

Authlib's `OAuth2Session` and oauthlib's `DeviceClient` (through requests-oauthlib) each drive the
whole device flow (pending, approval, tokens), call the API with the token, refresh, and see a
reused refresh token refused. joserfc, a JOSE library independent of the app's PyJWT, verifies
the access token with nothing but what discovery publishes: issuer, `jwks_uri` and the resource
(the audience).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.integrations.requests_client import OAuthError as AuthlibError
from joserfc import jwt
from joserfc.jwk import KeySet
from oauthlib.oauth2 import DeviceClient
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidGrantError
from requests_oauthlib import OAuth2Session as RequestsOAuthSession

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import FakeClock, RunningApi, User, approve, make_api

pytestmark = pytest.mark.azurite

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LIGHT = {"pattern": "pulse", "color": "#ff8800"}
# RFC 8628 section 3.5: a poll sooner than `interval` is answered slow_down; the clock moves past it.
POLL_STEP = timedelta(seconds=6)


@pytest.fixture(scope="module")
def clocked_api(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path
) -> Iterator[tuple[RunningApi, FakeClock]]:
    """An API whose clock the test moves, so that polling at `interval` needs no sleeping."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    running = make_api(azurite, github, state_dir, clock=clock, EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="600")
    yield running, clock
    running.stop()


def discover(origin: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a client reads first: RFC 8414 metadata of the issuer, RFC 9728 metadata of the resource it names."""
    server: dict[str, Any] = httpx.get(f"{origin}/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == origin
    (resource_id,) = server["protected_resources"]
    scheme, rest = resource_id.split("://", 1)
    host, _, path = rest.partition("/")
    # RFC 9728 section 3.1: the well-known segment goes between the host and the resource's path.
    resource: dict[str, Any] = httpx.get(f"{scheme}://{host}/.well-known/oauth-protected-resource/{path}").json()
    assert resource["resource"] == resource_id
    assert resource["authorization_servers"] == [origin]
    return server, resource


def verify_with_joserfc(access_token: str, server: dict[str, Any], resource: dict[str, Any], now: datetime) -> None:
    """Verify signature and claims from the published metadata only, with a JOSE library the app does not use."""
    keys = KeySet.import_key_set(httpx.get(server["jwks_uri"]).json())
    token = jwt.decode(access_token, keys, algorithms=["ES256"])
    claims = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        iss={"essential": True, "value": server["issuer"]},
        aud={"essential": True, "value": resource["resource"]},
        exp={"essential": True},
        sub={"essential": True},
    )
    claims.validate(token.claims)
    assert token.header["alg"] == "ES256"


def test_the_metadata_describes_the_device_flow(api: RunningApi) -> None:
    server, resource = discover(api.url)
    assert server == {
        "issuer": api.url,
        "device_authorization_endpoint": f"{api.url}/api/auth/device",
        "token_endpoint": f"{api.url}/api/auth/token",
        "jwks_uri": f"{api.url}/api/.well-known/jwks.json",
        "grant_types_supported": [DEVICE_GRANT, "refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "protected_resources": [f"{api.url}/api"],
        "service_documentation": f"{api.url}/api/docs",
        "public_client_id": "eventstack-attendee",
    }
    assert resource["resource"] == f"{api.url}/api"
    assert resource["bearer_methods_supported"] == ["header"]


def test_authlib_signs_in_refreshes_and_sees_reuse_refused(
    clocked_api: tuple[RunningApi, FakeClock], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, clock = clocked_api
    server, resource = discover(api.url)
    session = AuthlibSession(client_id=server["public_client_id"], token_endpoint_auth_method="none")
    started = session.post(
        server["device_authorization_endpoint"], data={"client_id": server["public_client_id"]}, withhold_token=True
    ).json()

    with pytest.raises(AuthlibError) as pending:
        session.fetch_token(server["token_endpoint"], grant_type=DEVICE_GRANT, device_code=started["device_code"])
    assert pending.value.error == "authorization_pending"
    with pytest.raises(AuthlibError) as too_fast:
        session.fetch_token(server["token_endpoint"], grant_type=DEVICE_GRANT, device_code=started["device_code"])
    assert too_fast.value.error == "slow_down"

    approve(github, started["user_code"], new_user())
    clock.advance(POLL_STEP * 2)
    first = dict(
        session.fetch_token(server["token_endpoint"], grant_type=DEVICE_GRANT, device_code=started["device_code"])
    )
    verify_with_joserfc(first["access_token"], server, resource, clock())
    assert session.post(f"{api.url}/api/lights", json=LIGHT).status_code == 202

    second = dict(session.refresh_token(server["token_endpoint"]))
    assert second["refresh_token"] != first["refresh_token"]
    verify_with_joserfc(second["access_token"], server, resource, clock())
    assert session.get(f"{api.url}/api/me").status_code == 200

    with pytest.raises(AuthlibError) as reused:
        session.refresh_token(server["token_endpoint"], refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    # Reuse ends the session: the newest access token is refused too, with "sign in again".
    ended = session.get(f"{api.url}/api/me")
    assert ended.status_code == 401
    assert 'error="invalid_token"' in ended.headers["www-authenticate"]
    assert "sign in again" in ended.json()["error_description"]


def test_oauthlib_device_client_signs_in_refreshes_and_sees_reuse_refused(
    clocked_api: tuple[RunningApi, FakeClock],
    github: GitHubStandIn,
    new_user: Callable[[], User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # oauthlib refuses plain HTTP unless told; the local API has no TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    api, clock = clocked_api
    server, resource = discover(api.url)
    client = DeviceClient(server["public_client_id"])
    session = RequestsOAuthSession(client=client)
    # oauthlib's own device authorization request: client_id (and grant_type) in the query, empty body.
    started = session.post(client.prepare_request_uri(server["device_authorization_endpoint"])).json()

    # oauthlib's token parser knows RFC 6749's codes; RFC 8628's reach the caller by name.
    with pytest.raises(CustomOAuth2Error) as pending:
        session.fetch_token(server["token_endpoint"], device_code=started["device_code"])
    assert pending.value.error == "authorization_pending"
    with pytest.raises(CustomOAuth2Error) as too_fast:
        session.fetch_token(server["token_endpoint"], device_code=started["device_code"])
    assert too_fast.value.error == "slow_down"

    approve(github, started["user_code"], new_user())
    clock.advance(POLL_STEP * 2)
    # requests-oauthlib's default for a client without a secret: Basic credentials with an empty password.
    first = dict(session.fetch_token(server["token_endpoint"], device_code=started["device_code"]))
    verify_with_joserfc(first["access_token"], server, resource, clock())
    assert session.post(f"{api.url}/api/lights", json=LIGHT).status_code == 202

    second = dict(session.refresh_token(server["token_endpoint"]))
    assert second["refresh_token"] != first["refresh_token"]
    assert session.get(f"{api.url}/api/me").status_code == 200

    with pytest.raises(InvalidGrantError):
        session.refresh_token(server["token_endpoint"], refresh_token=first["refresh_token"])
    assert session.get(f"{api.url}/api/me").status_code == 401


def test_requests_oauthlib_with_the_client_id_in_the_body(
    clocked_api: tuple[RunningApi, FakeClock], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    """The other way oauthlib sends a public client: `include_client_id=True`, no Authorization header."""
    api, clock = clocked_api
    server, _ = discover(api.url)
    started = requests.post(
        server["device_authorization_endpoint"], data={"client_id": server["public_client_id"]}, timeout=10
    ).json()
    approve(github, started["user_code"], new_user())
    clock.advance(POLL_STEP)
    client = DeviceClient(server["public_client_id"])
    body = client.prepare_request_body(started["device_code"], include_client_id=True)
    response = requests.post(
        server["token_endpoint"],
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    client.parse_request_body_response(response.text)
    assert client.token["token_type"] == "Bearer"
