#!/usr/bin/env python3
"""Sign in to the event API with the OAuth 2.0 device flow (RFC 8628), send a light, refresh, send another.

No dependencies beyond Python 3.9+'s standard library:

    python examples/device_flow.py [API_ORIGIN] [COLOR]
    python examples/device_flow.py http://127.0.0.1:7071 ff8800      (make local)

Everything it needs it reads from the server's metadata (RFC 8414), so the same script works
against any deployment: pass the origin the organisers give you (https://<host>).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def call(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request; the JSON body and status, for errors too (they say what to do in error_description)."""
    if not url.startswith(("https://", "http://")):
        raise SystemExit(f"not an http(s) URL: {url}")
    headers = {"Accept": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http(s) only, checked above
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only, checked above
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def post_form(url: str, fields: dict[str, str]) -> tuple[int, Any]:
    """Token and device requests are form-encoded, as RFC 6749 and RFC 8628 have it."""
    body = urllib.parse.urlencode(fields).encode()
    return call(url, body, {"Content-Type": "application/x-www-form-urlencoded"})


def send_light(origin: str, token: str, pattern: str, color: str) -> None:
    body = json.dumps({"pattern": pattern, "color": color}).encode()
    status, answer = call(
        f"{origin}/api/lights", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    if status != 202:
        # A 401 says whether to refresh or to sign in again.
        raise SystemExit(f"light refused: {status} {answer['error']}: {answer.get('error_description')}")
    print(f"light accepted: {pattern} {color} (id {answer['id']})", flush=True)


def main() -> None:
    origin = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7071").rstrip("/")
    color = sys.argv[2] if len(sys.argv) > 2 else "ff8800"

    # 1. Discovery: where to sign in, and the public client id.
    _, metadata = call(f"{origin}/.well-known/oauth-authorization-server")
    client_id = metadata["public_client_id"]

    # 2. Start the device flow: show the code, the attendee approves it in a browser.
    status, device = post_form(metadata["device_authorization_endpoint"], {"client_id": client_id})
    if status != 200:
        raise SystemExit(f"sign-in refused: {device.get('error_description')}")
    print(f"To sign in, open {device['verification_uri_complete']}", flush=True)
    print(f"and confirm the code {device['user_code']}", flush=True)

    # 3. Poll the token endpoint until the attendee approved (RFC 8628 section 3.5).
    interval = device["interval"]
    form = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"], "client_id": client_id}
    while True:
        status, tokens = post_form(metadata["token_endpoint"], form)
        if status == 200:
            break
        if tokens["error"] == "slow_down":
            interval += 5
        elif tokens["error"] != "authorization_pending":
            raise SystemExit(f"sign-in failed: {tokens['error']}: {tokens.get('error_description')}")
        time.sleep(interval)
    print(f"signed in: access token valid for {tokens['expires_in']} s", flush=True)

    # 4. Send a light, refresh the pair (each refresh token works once), send another.
    send_light(origin, tokens["access_token"], "pulse", color)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}
    status, renewed = post_form(metadata["token_endpoint"], refresh)
    if status != 200:
        raise SystemExit(f"refresh failed: {renewed.get('error_description')}")
    print("refreshed: new access and refresh token", flush=True)
    send_light(origin, renewed["access_token"], "sparkle", color)


if __name__ == "__main__":
    main()
