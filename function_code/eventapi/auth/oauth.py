"""RFC 6749 / RFC 8628 requests as clients send them, and the errors those RFCs define.

The device authorization and token endpoints take `application/x-www-form-urlencoded` bodies (RFC
6749 section 4.1.3 and 6, RFC 8628 sections 3.1 and 3.4), and JSON as a convenience for curl.
Unrecognised parameters are ignored (within bounds that keep a request under the body cap), empty
ones in a form count as absent, a parameter sent twice is refused (RFC 6749 sections 3.1, 3.2).
Every refusal is an RFC 6749 section 5.2 code with a fixed description that says what to send
instead, never what was sent.

There is one client, public (RFC 6749 section 2.1), with the id PUBLIC_CLIENT_ID published in the
authorization server metadata. Another id is refused with `invalid_client` rather than accepted:
a different id means the caller was configured for another server, and saying so at once, with
the right id, beats signing in with a configuration that is wrong somewhere else too. A missing
id is accepted: with one client there is nothing for it to tell apart.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, unquote

from eventapi.models import (
    DEVICE_CODE_PATTERN,
    MAX_DEVICE_CODE_LENGTH,
    MAX_REFRESH_TOKEN_LENGTH,
    REFRESH_TOKEN_PATTERN,
    GrantType,
)

PUBLIC_CLIENT_ID = "eventstack-attendee"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
JSON_MEDIA_TYPE = "application/json"
# Unrecognised parameters are ignored (RFC 6749 section 3.2) within these bounds, which keep any
# request that honours them under the 1 KiB body cap (each extra is at most ~180 bytes encoded):
# at most five parameters in all, names of up to 32 [A-Za-z0-9_.-], values of up to 48 printable
# ASCII characters. The OpenAPI schemas state the same bounds.
MAX_PARAMETERS = 5
EXTRA_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"
EXTRA_VALUE_PATTERN = r"^[\x20-\x7e]{0,48}$"
EXTRA_NAME = re.compile(EXTRA_NAME_PATTERN)
EXTRA_VALUE = re.compile(EXTRA_VALUE_PATTERN)
# The parameters these endpoints read; anything else is ignored (RFC 6749 section 3.2).
GRANT_TYPE = "grant_type"
DEVICE_CODE = "device_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a parameter name, not a secret
CLIENT_ID = "client_id"
RECOGNISED = frozenset({GRANT_TYPE, DEVICE_CODE, REFRESH_TOKEN, CLIENT_ID})
# The realm named in the Basic challenge of an invalid_client answer (RFC 6749 section 5.2).
BASIC_REALM = "eventstack"

_FORMS: Mapping[GrantType, tuple[re.Pattern[str], int]] = {
    GrantType.DEVICE_CODE: (re.compile(DEVICE_CODE_PATTERN), MAX_DEVICE_CODE_LENGTH),
    GrantType.REFRESH_TOKEN: (re.compile(REFRESH_TOKEN_PATTERN), MAX_REFRESH_TOKEN_LENGTH),
}


class OAuthErrorCode(StrEnum):
    """RFC 6749 section 5.2 codes that the request itself causes (the grant's own are GrantError)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"


class OAuthError(Exception):
    """A refused device authorization or token request: 400 (401 for Basic credentials) with a code."""

    def __init__(
        self, code: OAuthErrorCode, description: str, status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.description = description
        self.status = status
        self.headers = dict(headers or {})


def _invalid_request(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_REQUEST, description)


SEND_FORM = (
    f"Send the parameters as {FORM_MEDIA_TYPE} (RFC 6749), or as a JSON object, "
    f"e.g. grant_type={GrantType.DEVICE_CODE.value}&device_code=<device_code>&client_id={PUBLIC_CLIENT_ID}."
)
WRONG_CLIENT = (
    f"Unknown client_id: this server has one public client, client_id={PUBLIC_CLIENT_ID} "
    "(published in /.well-known/oauth-authorization-server), with no secret."
)
GRANT_TYPE_MISSING = (
    f"grant_type is required: {GrantType.DEVICE_CODE.value} (with device_code) "
    f"or {GrantType.REFRESH_TOKEN.value} (with refresh_token)."
)
UNSUPPORTED_GRANT = (
    f"This server grants only {GrantType.DEVICE_CODE.value} (with device_code, from POST /api/auth/device) "
    f"and {GrantType.REFRESH_TOKEN.value} (with refresh_token)."
)
TOO_MANY = f"Send at most {MAX_PARAMETERS} parameters, each once."
UNRECOGNISED_BOUNDS = (
    "Unrecognised parameters are ignored if their names are up to 32 of A-Z a-z 0-9 _ . - "
    "and their values up to 48 printable ASCII characters; this one is not."
)
REPEATED = {
    name: f"{name} is sent more than once; send each parameter once (RFC 6749 section 3.1)."
    for name in sorted(RECOGNISED)
}
REPEATED_UNRECOGNISED = "A parameter is sent more than once; send each parameter once (RFC 6749 section 3.1)."
NOT_A_STRING = {name: f"{name} must be a non-empty string." for name in sorted(RECOGNISED)}
ONE_GRANT = "Send grant_type, or exactly one of device_code and refresh_token."
NEEDS = {
    GrantType.DEVICE_CODE: f"device_code is required with grant_type={GrantType.DEVICE_CODE.value}: "
    "the device_code from POST /api/auth/device.",
    GrantType.REFRESH_TOKEN: f"refresh_token is required with grant_type={GrantType.REFRESH_TOKEN.value}: "
    "the refresh_token from the last token response.",
}
NOT_ISSUED = {
    GrantType.DEVICE_CODE: "That is not a device_code this server issued (43 URL-safe characters from "
    "POST /api/auth/device): start again there.",
    GrantType.REFRESH_TOKEN: "That is not a refresh_token this server issued (<session>.<family>.<secret>, "
    "from the last token response): sign in again with POST /api/auth/device.",
}


# Every text an OAuthError can carry: fixed, so that none of them can hold what was sent.
DESCRIPTIONS: frozenset[str] = frozenset(
    {
        SEND_FORM,
        WRONG_CLIENT,
        GRANT_TYPE_MISSING,
        UNSUPPORTED_GRANT,
        TOO_MANY,
        UNRECOGNISED_BOUNDS,
        REPEATED_UNRECOGNISED,
        ONE_GRANT,
        *REPEATED.values(),
        *NOT_A_STRING.values(),
        *NEEDS.values(),
        *NOT_ISSUED.values(),
    }
)


@dataclass(frozen=True)
class OAuthRequest:
    """The recognised parameters of one request, whether it came as JSON (the curl convenience), its Authorization."""

    parameters: Mapping[str, str] = field(default_factory=dict)
    as_json: bool = False
    authorization: str | None = None


def _recognised(pairs: list[tuple[str, object]], empty_is_absent: bool) -> dict[str, str]:
    """The recognised parameters of `pairs`, once each; unrecognised ones only checked against the bounds."""
    if len(pairs) > MAX_PARAMETERS:
        raise _invalid_request(TOO_MANY)
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = next((n for n in sorted(RECOGNISED) if names.count(n) > 1), None)
        raise _invalid_request(REPEATED[repeated] if repeated else REPEATED_UNRECOGNISED)
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in RECOGNISED:
            # Ignored (RFC 6749 section 3.2), within bounds that keep every such request under the body cap.
            if not (EXTRA_NAME.fullmatch(name) and isinstance(value, str) and EXTRA_VALUE.fullmatch(value)):
                raise _invalid_request(UNRECOGNISED_BOUNDS)
        elif not isinstance(value, str) or not (value or empty_is_absent):
            raise _invalid_request(NOT_A_STRING[name])
        elif value:
            found[name] = value
    return found


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except (UnicodeDecodeError, ValueError) as error:
        raise _invalid_request(TOO_MANY if b"&" in body else SEND_FORM) from error
    # RFC 6749 section 3.1: a parameter sent without a value is treated as omitted.
    return _recognised(list(pairs), empty_is_absent=True)


class _Members(list[tuple[str, object]]):
    """A JSON object's members in order, repeats kept (a dict would keep only the last)."""


def _json(body: bytes) -> dict[str, str]:
    try:
        document = json.loads(body, object_pairs_hook=_Members)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _invalid_request(SEND_FORM) from error
    if not isinstance(document, _Members):
        raise _invalid_request(SEND_FORM)
    return _recognised(list(document), empty_is_absent=False)


def parse_request(
    content_type: str, body: bytes, query: Mapping[str, str] | None = None, authorization: str | None = None
) -> OAuthRequest:
    """The recognised parameters of a form or JSON body (plus `query`, which some clients use for client_id)."""
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    as_json = media_type == JSON_MEDIA_TYPE
    if not body.strip():
        found: dict[str, str] = {}
    elif media_type == FORM_MEDIA_TYPE:
        found = _form(body)
    elif as_json:
        found = _json(body)
    else:
        raise _invalid_request(SEND_FORM)
    for name, value in (query or {}).items():
        if name == CLIENT_ID and value:
            if found.get(name, value) != value:
                raise _invalid_request("client_id is sent twice with different values; send it once.")
            found[name] = value
    return OAuthRequest(found, as_json, authorization)


def _basic_client_id(authorization: str) -> str | None:
    """The client id of HTTP Basic credentials (RFC 6749 section 2.3.1); None without Basic credentials."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    refused = OAuthError(
        OAuthErrorCode.INVALID_CLIENT, WRONG_CLIENT, 401, {"WWW-Authenticate": f'Basic realm="{BASIC_REALM}"'}
    )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise refused from error
    client_id, _, secret = decoded.partition(":")
    # A public client has no secret; an empty password is how some libraries send the id alone.
    if unquote(client_id) != PUBLIC_CLIENT_ID or secret:
        raise refused
    return PUBLIC_CLIENT_ID


def check_client(request: OAuthRequest) -> None:
    """Refuse any client but the one public client, in the body or in Basic credentials."""
    if request.authorization:
        _basic_client_id(request.authorization)
    client_id = request.parameters.get(CLIENT_ID)
    if client_id is not None and client_id != PUBLIC_CLIENT_ID:
        raise OAuthError(OAuthErrorCode.INVALID_CLIENT, WRONG_CLIENT)


@dataclass(frozen=True)
class Grant:
    """What a token request redeems: a device code or a refresh token, checked for form."""

    grant_type: GrantType
    value: str


def _grant_type(request: OAuthRequest) -> GrantType:
    named = request.parameters.get(GRANT_TYPE)
    if named is None:
        if not request.as_json:
            raise _invalid_request(GRANT_TYPE_MISSING)
        # The curl convenience: a JSON body may leave the grant type to the one grant it carries.
        carried = [g for g in GrantType if _parameter(g) in request.parameters]
        if len(carried) != 1:
            raise _invalid_request(ONE_GRANT)
        return carried[0]
    try:
        return GrantType(named)
    except ValueError as error:
        raise OAuthError(OAuthErrorCode.UNSUPPORTED_GRANT_TYPE, UNSUPPORTED_GRANT) from error


def _parameter(grant_type: GrantType) -> str:
    return DEVICE_CODE if grant_type is GrantType.DEVICE_CODE else REFRESH_TOKEN


def token_grant(request: OAuthRequest) -> Grant:
    """The grant a token request carries; OAuthError when it carries none this server could have issued."""
    grant_type = _grant_type(request)
    value = request.parameters.get(_parameter(grant_type))
    if value is None:
        raise _invalid_request(NEEDS[grant_type])
    form, longest = _FORMS[grant_type]
    if len(value) > longest or not form.fullmatch(value):
        # Malformed is as good as unknown: nothing this server issued looks like it (RFC 6749 section 5.2).
        raise OAuthError(OAuthErrorCode.INVALID_GRANT, NOT_ISSUED[grant_type])
    return Grant(grant_type, value)
