"""How the OpenAPI document describes the device flow: request bodies and the security scheme.

The device authorization and token endpoints read their bodies themselves (a form, or JSON for
curl), so FastAPI cannot derive these schemas from a model: they are written here once and added
to the document's components. OpenAPI 3.1 has no device flow among its OAuth flows (3.2 adds
`deviceAuthorization`); the scheme carries the same object as the extension `x-deviceAuthorization`,
whose `tokenUrl` also tells contract testers which operation grants credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from eventapi.auth.oauth import (
    EXTRA_NAME_PATTERN,
    EXTRA_VALUE_PATTERN,
    FORM_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    MAX_PARAMETERS,
    PUBLIC_CLIENT_ID,
)
from eventapi.discovery import AUTHORIZATION_SERVER_METADATA_PATH, DEVICE_AUTHORIZATION_PATH, TOKEN_PATH
from eventapi.models import (
    DEVICE_CODE_PATTERN,
    MAX_DEVICE_CODE_LENGTH,
    MAX_REFRESH_TOKEN_LENGTH,
    REFRESH_TOKEN_PATTERN,
    GrantType,
)

DEVICE_FLOW_SCHEME = "deviceFlow"
DEVICE_FLOW = {
    "deviceAuthorizationUrl": DEVICE_AUTHORIZATION_PATH,
    "tokenUrl": TOKEN_PATH,
    "refreshUrl": TOKEN_PATH,
    "scopes": {},
}
DEVICE_FLOW_DESCRIPTION = (
    "OAuth 2.0 device authorization grant (RFC 8628) with one public client, "
    f"`client_id={PUBLIC_CLIENT_ID}`, no secret. POST `{DEVICE_AUTHORIZATION_PATH}`, open `verification_uri` "
    f"and enter `user_code`, poll `{TOKEN_PATH}` with `grant_type={GrantType.DEVICE_CODE.value}`, then send "
    "`Authorization: Bearer <access_token>`; renew with `grant_type=refresh_token`. "
    f"Metadata: `{AUTHORIZATION_SERVER_METADATA_PATH}` (RFC 8414)."
)

_CLIENT_ID = {
    "type": "string",
    "enum": [PUBLIC_CLIENT_ID],
    "description": "The one public client (optional: another id is refused with invalid_client).",
}
# In a form, a parameter without a value counts as omitted (RFC 6749 section 3.1).
_FORM_CLIENT_ID = {**_CLIENT_ID, "enum": [PUBLIC_CLIENT_ID, ""]}
# Unrecognised parameters are ignored within these bounds (eventapi/auth/oauth.py says why).
_BOUNDS = {
    "maxProperties": MAX_PARAMETERS,
    "propertyNames": {"pattern": EXTRA_NAME_PATTERN},
    "additionalProperties": {"type": "string", "pattern": EXTRA_VALUE_PATTERN},
}
_DEVICE_CODE = {
    "type": "string",
    "pattern": DEVICE_CODE_PATTERN,
    "maxLength": MAX_DEVICE_CODE_LENGTH,
    "description": "The device_code from POST /api/auth/device.",
}
_REFRESH_TOKEN = {
    "type": "string",
    "pattern": REFRESH_TOKEN_PATTERN,
    "maxLength": MAX_REFRESH_TOKEN_LENGTH,
    "description": "The refresh_token of the last token response (each works once).",
}


_GRANT_TYPE_NAME = "grant_type"


def _grant(grant_type: GrantType, name: str, value: dict[str, Any], form: bool) -> dict[str, Any]:
    return {
        "type": "object",
        # grant_type may be left out of JSON only (the curl convenience).
        "required": ([_GRANT_TYPE_NAME] if form else []) + [name],
        "properties": {
            _GRANT_TYPE_NAME: {"type": "string", "const": grant_type.value},
            name: value,
            "client_id": _FORM_CLIENT_ID if form else _CLIENT_ID,
        },
        **_BOUNDS,
    }


_DEVICE_EXAMPLE = {
    "grant_type": GrantType.DEVICE_CODE.value,
    "device_code": "Yp3mKq0uV9dF2sLxR7wT1cN8bJ5hG4aE6zQyWvUiOkM",
    "client_id": PUBLIC_CLIENT_ID,
}
_REFRESH_EXAMPLE = {
    "grant_type": GrantType.REFRESH_TOKEN.value,
    "refresh_token": "0f" * 16 + "." + "a1" * 16 + ".Yp3mKq0uV9dF2sLxR7wT1cN8bJ5hG4aE6zQyWvUiOkM",
    "client_id": PUBLIC_CLIENT_ID,
}


def _token_request(form: bool, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "oneOf": [
            _grant(GrantType.DEVICE_CODE, "device_code", _DEVICE_CODE, form),
            _grant(GrantType.REFRESH_TOKEN, "refresh_token", _REFRESH_TOKEN, form),
        ],
        "examples": [_DEVICE_EXAMPLE, _REFRESH_EXAMPLE],
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "TokenRequestForm": _token_request(
        True, "RFC 6749 section 4.1.3 / 6, RFC 8628 section 3.4; unrecognised parameters are ignored."
    ),
    "TokenRequestJson": _token_request(
        False,
        "The same parameters as a JSON object (for curl); grant_type may be left out when exactly one of "
        "device_code and refresh_token is sent.",
    ),
    "DeviceAuthorizationForm": {
        "type": "object",
        "description": "RFC 8628 section 3.1: client_id, optional; no scopes.",
        "properties": {"client_id": _FORM_CLIENT_ID},
        **_BOUNDS,
        "examples": [{"client_id": PUBLIC_CLIENT_ID}],
    },
    "DeviceAuthorizationJson": {
        "type": "object",
        "description": "The same as a JSON object (for curl).",
        "properties": {"client_id": _CLIENT_ID},
        **_BOUNDS,
        "examples": [{"client_id": PUBLIC_CLIENT_ID}],
    },
}


def _body(form: str, json: str, required: bool) -> dict[str, Any]:
    return {
        "required": required,
        "content": {
            FORM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{form}"}},
            JSON_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{json}"}},
        },
    }


TOKEN_REQUEST_BODY = {"requestBody": _body("TokenRequestForm", "TokenRequestJson", required=True)}
DEVICE_REQUEST_BODY = {"requestBody": _body("DeviceAuthorizationForm", "DeviceAuthorizationJson", required=False)}


def document_request_bodies(app: FastAPI) -> None:
    """Add SCHEMAS to the app's OpenAPI components, once, when the document is first built."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
