"""GitHub as the identity provider: the OAuth web application flow, with state and PKCE.

GitHub is asked once per attendee per event: the authorization code is exchanged, the user read
once, and GitHub's token dropped inside the same call; it is never stored or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    import httpx

# httpx loads on the first sign-in, not with the app: most requests never talk to GitHub.
_TIMEOUT_SECONDS = 10.0
# GitHub logins: 1-39 alphanumerics or single hyphens, not at either end.
_LOGIN_MAX = 39


class GitHubUnavailable(Exception):  # noqa: N818 - reads as the condition it reports
    """GitHub did not answer in a usable way."""


class GitHubRefused(Exception):  # noqa: N818 - reads as the condition it reports
    """GitHub refused the authorization code (expired, reused, or not ours)."""


@dataclass(frozen=True)
class GitHubUser:
    """Who signed in, as GitHub says: the numeric id (stable) and the login (for the allowlist)."""

    id: int
    login: str


class GitHubWebFlow:
    """A client of the three GitHub endpoints the web flow needs; no scopes are requested."""

    def __init__(
        self,
        client_id: str,
        client_secret: Callable[[], str],
        base_url: str,
        api_url: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._base_url = base_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._transport = transport
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(
                timeout=httpx.Timeout(_TIMEOUT_SECONDS),
                transport=self._transport,
                headers={"Accept": "application/json"},
            )
        return self._http

    def authorize_url(self, state: str, code_challenge: str, redirect_uri: str) -> str:
        """Where to send the attendee's browser: GitHub's consent page for this app."""
        query = urlencode(
            {
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "allow_signup": "false",
            }
        )
        return f"{self._base_url}/login/oauth/authorize?{query}"

    def user_for_code(self, code: str, code_verifier: str, redirect_uri: str) -> GitHubUser:
        """Exchange the authorization code and read the user once; GitHub's token goes no further."""
        import httpx

        try:
            response = self._client().post(
                f"{self._base_url}/login/oauth/access_token",
                data={
                    "client_id": self._client_id,
                    "client_secret": self._client_secret(),
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise GitHubUnavailable("token") from error
        if response.status_code >= 500 or response.status_code == 429 or not isinstance(body, dict):
            raise GitHubUnavailable("token answer")
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise GitHubRefused(str(body.get("error", "no token")))
        return self._user(access_token)

    def _user(self, access_token: str) -> GitHubUser:
        import httpx

        try:
            response = self._client().get(f"{self._api_url}/user", headers={"Authorization": f"Bearer {access_token}"})
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            raise GitHubUnavailable("user") from error
        user_id = body.get("id") if isinstance(body, dict) else None
        login = body.get("login") if isinstance(body, dict) else None
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise GitHubUnavailable("user id")
        if not isinstance(login, str) or not 0 < len(login) <= _LOGIN_MAX:
            raise GitHubUnavailable("user login")
        return GitHubUser(user_id, login)
