"""Attack suites against the live local API: the event API's own fixtures (real Azurite, the GitHub
stand-in, the app under uvicorn on 127.0.0.1), plus what an attacker needs: users, raw tokens, table dumps."""

# The event API's fixtures are imported by name, and fixtures here take them as parameters by name.
# ruff: noqa: F811

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from eventapi.auth.oauth import DESCRIPTIONS as OAUTH_DESCRIPTIONS
from eventapi.auth.signer import LocalSigner
from eventapi.challenge import EXPIRED, NO_TOKEN, NOT_BEARER, NOT_OURS, REFRESH_TOKEN_SENT, SESSION_ENDED
from eventapi.errors import BODY_HELP
from eventapi.guard import oversized
from eventapi.models import FIELD_HELP, STORED_COLOR_PATTERN, Pattern
from eventapi.routes.auth import GRANT_ERROR_DESCRIPTIONS
from eventapi.settings import MAX_BODY_BYTES
from eventapi.storage.tables import LIGHTS, TABLES

from dev.github_standin import GitHubStandIn

# The event API's live-server fixtures, reused as they are (each conftest gets its own instances).
from tests.function_code.conftest import (  # noqa: F401 - imported fixtures register themselves
    RunningApi,
    User,
    api,
    azurite,
    bearer,
    client,
    fresh_mocks,
    github,
    new_user,
    sign_in,
    state_dir,
    tables,
)

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is an attack on the live API: `-m security` selects them all."""
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.security)
            item.add_marker(pytest.mark.azurite)


# Endpoints that need a bearer token: every attack on tokens is tried on each of them.
PROTECTED = (("GET", "/api/me"), ("DELETE", "/api/me"), ("POST", "/api/lights"))
GOOD_LIGHT = {"pattern": "pulse", "color": "ff8800"}


@dataclass(frozen=True)
class Attendee:
    """A signed-in user: the GitHub identity, the API token and its decoded parts."""

    user: User
    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def session_id(self) -> str:
        return str(self.claims["sub"])

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


def decode_part(part: str) -> dict[str, Any]:
    """A JWS header or payload, unverified."""
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    """The JWS signing input, built by hand so that any header or claim can be forged."""
    encoded = [b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    return ".".join(encoded).encode("ascii")


def es256_token(key: ec.EllipticCurvePrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS signed with `key` over SHA-256, as raw R||S (RFC 7518); any curve, for forgeries."""
    data = signing_input(header, claims)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    width = (key.curve.key_size + 7) // 8
    signature = r.to_bytes(width, "big") + s.to_bytes(width, "big")
    return data.decode("ascii") + "." + b64url(signature)


@pytest.fixture(scope="session")
def signing_key(state_dir: Path, api: RunningApi) -> ec.EllipticCurvePrivateKey:
    """The API's real local signing key, read from its state folder (what an insider would steal)."""
    assert isinstance(api.services.signer, LocalSigner)
    key = serialization.load_pem_private_key((state_dir / LocalSigner.KEY_FILE).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@pytest.fixture
def attendee(client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]) -> Callable[[], Attendee]:
    """Signs in fresh users through the whole device flow."""

    def make() -> Attendee:
        user = new_user()
        token = sign_in(client, github, user)
        header_part, payload_part, _ = token.split(".")
        return Attendee(user, token, decode_part(header_part), decode_part(payload_part))

    return make


def all_rows(tables: TableServiceClient) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every row of every table the API keeps."""
    for name in TABLES:
        for row in tables.get_table_client(name).list_entities():
            yield name, dict(row)


def row_text(row: dict[str, Any]) -> str:
    """Keys and values of a row as one searchable string."""
    return " ".join(f"{key}={value}" for key, value in row.items())


# A wall row is what the wall shows and nothing more: no attendee, no session.
_LIGHT_COLUMNS = {"PartitionKey", "RowKey", "id", "pattern", "color", "written_at"}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LOWER_COLOR = re.compile(r"[0-9a-f]{6}")
_WALL_BUCKET = re.compile(r"wall-\d{10}")
_WALL_ROW = re.compile(r"\d{13}-([0-9a-f]{32})")
PATTERNS = frozenset(p.value for p in Pattern)


def malformed_lights(tables: TableServiceClient) -> list[dict[str, Any]]:
    """Rows of the lights table that are not exactly what a valid command stores."""
    bad = []
    for row in tables.get_table_client(LIGHTS).list_entities():
        values = dict(row)
        row_key = _WALL_ROW.fullmatch(str(values.get("RowKey", "")))
        well_formed = (
            set(values) == _LIGHT_COLUMNS
            and values["pattern"] in PATTERNS
            and isinstance(values["color"], str)
            and _LOWER_COLOR.fullmatch(values["color"]) is not None
            and _HEX32.fullmatch(str(values["id"])) is not None
            and row_key is not None
            and row_key.group(1) == values["id"]
            and _WALL_BUCKET.fullmatch(str(values["PartitionKey"])) is not None
        )
        if not well_formed:
            bad.append(values)
    return bad


def malformed_wall_entries(wall: dict[str, Any]) -> list[Any]:
    """Entries of GET /api/lights that are not exactly {pattern, color, time} with allowlisted values."""
    return [
        entry
        for entry in wall["lights"]
        if not (
            isinstance(entry, dict)
            and set(entry) == {"pattern", "color", "time"}
            and entry["pattern"] in PATTERNS
            and re.fullmatch(STORED_COLOR_PATTERN, entry["color"])
        )
    ]


def assert_generic_error(response: httpx.Response, *inputs: str) -> None:
    """A 4xx whose body is a fixed code (with, perhaps, one of the app's fixed texts) and none of the input.

    The fixed texts name fields and allowed values ("pattern must be one of solid, ..."), so a sent
    value may coincide with a word of them; the check is that the text is one of the app's own,
    and that nothing sent appears anywhere else in the response.
    """
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    body = response.json()
    assert set(body) <= {"error", "error_description"} and re.fullmatch(r"[a-z_]+", body["error"]), response.text[:200]
    description = body.get("error_description")
    if description is not None:
        assert is_fixed_description(description), description
        rest = response.text.replace(json.dumps(description)[1:-1], "")
    else:
        rest = response.text
    for sent in inputs:
        if len(sent) >= 3:
            assert sent not in rest


# Every text an error body may carry. A 422 joins the texts of the fields that failed.
FIXED_DESCRIPTIONS = frozenset(
    {
        *OAUTH_DESCRIPTIONS,
        *GRANT_ERROR_DESCRIPTIONS.values(),
        *(r.description for r in (NO_TOKEN, NOT_BEARER, NOT_OURS, SESSION_ENDED, REFRESH_TOKEN_SENT, EXPIRED)),
        oversized(MAX_BODY_BYTES),
    }
)
TEACHING = (*FIELD_HELP.values(), BODY_HELP)


def is_fixed_description(text: str) -> bool:
    """One of the fixed texts, or fixed field texts joined by spaces: nothing else, so nothing sent."""
    if text in FIXED_DESCRIPTIONS:
        return True
    rest = text
    for known in sorted(TEACHING, key=len, reverse=True):
        rest = rest.replace(known, "")
    return rest.strip() == "" and rest != text
