"""GitHub's OAuth device flow: start it, poll it, and read the signed-in user's numeric id once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
# The only outcomes of a poll the API passes on; anything else GitHub says becomes expired_token.
PendingReason = Literal["authorization_pending", "slow_down", "expired_token", "access_denied"]
_PENDING_REASONS: frozenset[str] = frozenset({"authorization_pending", "slow_down", "expired_token", "access_denied"})
_TIMEOUT = httpx.Timeout(10.0)


class GitHubUnavailable(Exception):  # noqa: N818 - reads as the condition it reports
    """GitHub did not answer in a usable way."""


@dataclass(frozen=True)
class DeviceCode:
    """What the attendee needs to approve the sign-in on GitHub."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class Pending:
    """The device code is not (yet) exchangeable for a user."""

    reason: PendingReason


class GitHubDeviceFlow:
    """A client of the three GitHub endpoints the device flow needs; no scopes are requested."""

    def __init__(self, client_id: str, base_url: str, api_url: str, transport: httpx.BaseTransport | None = None):
        self._client_id = client_id
        self._base_url = base_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._http = httpx.Client(timeout=_TIMEOUT, transport=transport, headers={"Accept": "application/json"})

    def start(self) -> DeviceCode:
        """Ask GitHub for a device code and the user code to show the attendee."""
        body = self._post(f"{self._base_url}/login/device/code", {"client_id": self._client_id})
        try:
            return DeviceCode(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                expires_in=int(str(body["expires_in"])),
                interval=int(str(body["interval"])),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise GitHubUnavailable("device code answer") from error

    def poll(self, device_code: str) -> int | Pending:
        """Exchange an approved device code for the user's numeric GitHub id, or say why not yet.

        GitHub's access token lives only inside this call: it reads /user once and is dropped.
        """
        body = self._post(
            f"{self._base_url}/login/oauth/access_token",
            {"client_id": self._client_id, "device_code": device_code, "grant_type": DEVICE_GRANT_TYPE},
        )
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            error = body.get("error")
            reason = error if isinstance(error, str) and error in _PENDING_REASONS else "expired_token"
            return Pending(reason)  # type: ignore[arg-type]
        return self._user_id(access_token)

    def _user_id(self, access_token: str) -> int:
        try:
            response = self._http.get(f"{self._api_url}/user", headers={"Authorization": f"Bearer {access_token}"})
            user_id = response.json().get("id") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            raise GitHubUnavailable("user") from error
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise GitHubUnavailable("user id")
        return user_id

    def _post(self, url: str, form: dict[str, str]) -> dict[str, object]:
        try:
            response = self._http.post(url, data=form)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise GitHubUnavailable("request") from error
        if not isinstance(body, dict):
            raise GitHubUnavailable("answer")
        return body
