"""Typed settings read once from the environment, refusing missing or placeholder values at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

# RFC 8725 and the threat model: a stolen token is worth a few minutes at most.
MAX_TOKEN_TTL = timedelta(minutes=15)
# Tolerated clock skew between instances and callers when checking iat/nbf/exp.
TOKEN_LEEWAY = timedelta(seconds=10)
# Every valid body is well under this; anything bigger is refused before it is parsed.
MAX_BODY_BYTES = 1024
# The public wall shows this many of the most recent commands.
WALL_SIZE = 50
# Quota windows are one minute, matching the per-minute settings.
QUOTA_WINDOW = timedelta(minutes=1)

TOKEN_TTL_MINUTES = (1, 15)
RETENTION_HOURS = (1, 168)
COMMANDS_PER_MINUTE = (1, 600)
# Per client address: sign-in starts and browser steps. A venue puts hundreds of attendees behind
# one NAT address, so this is sized for a crowd arriving at once, not for one person.
AUTH_REQUESTS_PER_MINUTE = (1, 6000)
# The whole app's GitHub authorizations per minute. GitHub allows an OAuth app 2,000 access-token
# requests per hour (33 a minute): the stack's config keeps a deployment below that; the app's own
# bound is wider so that local tests can sign in a crowd quickly against the stand-in.
SIGN_INS_PER_MINUTE = (1, 600)
SESSION_HOURS = (1, 168)
# Sign-in may stay open a little after the event's end (a late session), never past retention.
SIGN_IN_GRACE_MINUTES = (0, 1440)
SESSIONS_PER_ATTENDEE = (1, 20)
# RFC 8628: a device code lives minutes, and clients poll no faster than `interval` seconds.
DEVICE_CODE_LIFETIME = timedelta(minutes=10)
POLL_INTERVAL_SECONDS = 5
# RFC 8628 section 3.5: each slow_down adds 5 seconds to the interval.
SLOW_DOWN_STEP_SECONDS = 5
# How often one user code may start the GitHub step (a typo retried, a second tab), no more.
BROWSER_STEPS_PER_CODE = 5
MAX_CONCURRENT_REQUESTS = (1, 100)
MAX_OUTSTANDING_REQUESTS = (1, 1000)

DEFAULT_GITHUB_BASE_URL = "https://github.com"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_LOCAL_STATE_DIR = ".local"
# Which browser origins may call the bearer-token endpoints (see read_cors_origins).
CORS_ORIGINS_SETTING = "EVENTSTACK_CORS_ORIGINS"
ANY_ORIGIN = "*"
NO_ORIGIN = "none"

# Values that mean "someone forgot to set this": refused rather than run with.
_PLACEHOLDER = re.compile(r"placeholder|changeme|change-me|replace-?me|example\.|todo|xxx|<.*>", re.IGNORECASE)
_GITHUB_CLIENT_ID = re.compile(r"^[A-Za-z0-9.]{8,40}$")
_NAME = re.compile(r"^[A-Za-z0-9-]{1,127}$")
# GitHub's OAuth client secrets are 40 hex characters; anything much shorter is a mistake.
MIN_CLIENT_SECRET_LENGTH = 20
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The privacy notice names the data controller and how to reach them (GDPR Art. 13(1)(a)).
CONTROLLER_NAME_SETTING = "EVENTSTACK_CONTROLLER_NAME"
CONTROLLER_CONTACT_SETTING = "EVENTSTACK_CONTROLLER_CONTACT"
_CONTROLLER_TEXT = re.compile(r"^[^\x00-\x1f<>]{3,200}$")


class SignInMode(StrEnum):
    """Who may sign in: everyone with a GitHub account, or the logins the organisers listed."""

    OPEN = "open"
    ALLOWLIST = "allowlist"


class SettingsError(ValueError):
    """The environment cannot run the app; the message names every offending variable."""


@dataclass(frozen=True)
class AzureResources:
    """Where the app finds its key, pepper and tables in Azure (identity-based access only)."""

    key_vault_uri: str
    signing_key_name: str
    pepper_secret_name: str
    github_client_secret_name: str
    table_endpoint: str


@dataclass(frozen=True)
class LocalResources:
    """Azurite and a state folder for the dev signing key and pepper: never used in Azure."""

    storage_connection_string: str
    state_dir: Path
    github_client_secret: str = field(repr=False, default="")


@dataclass(frozen=True)
class Settings:
    """Everything the app is configured with, validated."""

    token_issuer: str
    token_audience: str
    token_ttl: timedelta
    retention: timedelta
    event_ends_at: datetime
    commands_per_minute: int
    auth_requests_per_minute: int
    max_concurrent_requests: int
    max_outstanding_requests: int
    github_client_id: str
    github_base_url: str
    github_api_url: str
    sign_ins_per_minute: int
    session_lifetime: timedelta
    sessions_per_attendee: int
    sign_in_mode: SignInMode
    sign_in_grace: timedelta
    allowed_login_digests: frozenset[str]
    resources: AzureResources | LocalResources
    controller_name: str = ""
    """GDPR Art. 13(1)(a): who decides why and how attendees' data is processed."""
    controller_contact: str = ""
    """How attendees reach the controller (an e-mail address or a web page)."""
    behind_edge: bool = False
    """Front Door stands in front of the app and reports each caller's address (see below)."""
    cors_origins: tuple[str, ...] = (ANY_ORIGIN,)
    """Browser origins the bearer-token endpoints answer cross-origin (eventapi.cors); `*` is any."""

    @property
    def data_delete_by(self) -> datetime:
        """After this moment nothing about any attendee may remain."""
        return self.event_ends_at + self.retention

    @property
    def sign_in_closes_at(self) -> datetime:
        """After this moment sign-in answers 410 Gone."""
        return min(self.event_ends_at + self.sign_in_grace, self.data_delete_by)

    @property
    def verification_uri(self) -> str:
        """Where an attendee's browser approves a device code (on this app: the issuer is its origin)."""
        return f"{self.token_issuer}/api/auth/verify"

    @property
    def join_url(self) -> str:
        """The attendees' join page: the wall shows it as a QR code and in large type."""
        return f"{self.token_issuer}/api/join"

    @property
    def github_callback_url(self) -> str:
        """The authorization callback URL registered with the GitHub OAuth app."""
        return f"{self.token_issuer}/api/auth/callback"


class _Reader:
    """Collects every problem so one start-up failure lists them all."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, pattern: re.Pattern[str] | None = None, default: str | None = None) -> str:
        value = self.env.get(name, "").strip() or default
        if not value:
            self.problems.append(f"{name} is not set")
            return ""
        if _PLACEHOLDER.search(value):
            self.problems.append(f"{name} holds a placeholder value")
            return ""
        if pattern is not None and not pattern.fullmatch(value):
            self.problems.append(f"{name} does not match {pattern.pattern}")
            return ""
        return value

    def url(self, name: str, default: str | None = None) -> str:
        value = self.text(name, default=default)
        if not value:
            return ""
        parts = urlsplit(value)
        loopback = parts.hostname in _LOOPBACK_HOSTS
        if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
            self.problems.append(f"{name} must be an https URL (http only for 127.0.0.1)")
            return ""
        return value.rstrip("/")

    def integer(self, name: str, bounds: tuple[int, int]) -> int:
        raw = self.text(name)
        low, high = bounds
        try:
            value = int(raw)
        except ValueError:
            if raw:
                self.problems.append(f"{name} must be an integer from {low} to {high}")
            return low
        if not low <= value <= high:
            self.problems.append(f"{name} must be an integer from {low} to {high}")
            return low
        return value

    def sign_in_mode(self, name: str) -> SignInMode:
        raw = self.text(name)
        try:
            return SignInMode(raw)
        except ValueError:
            if raw:
                self.problems.append(f"{name} must be one of: " + ", ".join(m.value for m in SignInMode))
            return SignInMode.ALLOWLIST

    def digests(self, name: str) -> frozenset[str]:
        # Logins arrive only as HMACs (64 hex); a clear login here is a deployment mistake.
        raw = self.env.get(name, "").strip()
        found = frozenset(d for d in raw.split(",") if d)
        if any(not _DIGEST.fullmatch(d) for d in found):
            self.problems.append(f"{name} must list HMAC-SHA256 digests (64 lowercase hex), comma-separated")
            return frozenset()
        return found

    def instant(self, name: str) -> datetime:
        raw = self.text(name)
        try:
            if not raw.endswith("Z"):
                raise ValueError(raw)
            return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            if raw:
                self.problems.append(f"{name} must be an ISO 8601 UTC instant like 2027-06-05T18:00:00Z")
            return datetime.min.replace(tzinfo=UTC)


def _resources(read: _Reader) -> AzureResources | LocalResources:
    connection_string = read.env.get("EVENTSTACK_STORAGE_CONNECTION_STRING", "").strip()
    if connection_string:
        # Shared keys are for the emulator only: in Azure the app authenticates with its identity.
        endpoint = re.search(r"TableEndpoint=([^;]+)", connection_string)
        host = urlsplit(endpoint.group(1)).hostname if endpoint else None
        if host not in _LOOPBACK_HOSTS:
            read.problems.append("EVENTSTACK_STORAGE_CONNECTION_STRING is only for Azurite on 127.0.0.1")
        if read.env.get("EVENTSTACK_KEY_VAULT_URI"):
            read.problems.append("EVENTSTACK_STORAGE_CONNECTION_STRING and EVENTSTACK_KEY_VAULT_URI are exclusive")
        state_dir = read.env.get("EVENTSTACK_LOCAL_STATE_DIR", "").strip() or DEFAULT_LOCAL_STATE_DIR
        # A client secret in the environment is for the local GitHub stand-in only; in Azure it is
        # read from Key Vault with the app's identity.
        github = urlsplit(read.env.get("EVENTSTACK_GITHUB_BASE_URL", DEFAULT_GITHUB_BASE_URL)).hostname
        secret = read.env.get("EVENTSTACK_GITHUB_CLIENT_SECRET", "")
        if github not in _LOOPBACK_HOSTS:
            read.problems.append("a local run talks to the GitHub stand-in on 127.0.0.1 only")
        if len(secret) < MIN_CLIENT_SECRET_LENGTH:
            read.problems.append(
                f"EVENTSTACK_GITHUB_CLIENT_SECRET must hold at least {MIN_CLIENT_SECRET_LENGTH} characters"
            )
        return LocalResources(connection_string, Path(state_dir), secret)
    return AzureResources(
        key_vault_uri=read.url("EVENTSTACK_KEY_VAULT_URI"),
        signing_key_name=read.text("EVENTSTACK_SIGNING_KEY_NAME", _NAME),
        pepper_secret_name=read.text("EVENTSTACK_PEPPER_SECRET_NAME", _NAME),
        github_client_secret_name=read.text("EVENTSTACK_GITHUB_SECRET_NAME", _NAME),
        table_endpoint=read.url("EVENTSTACK_TABLE_ENDPOINT"),
    )


# --- behind the edge -------------------------------------------------------------------------
# In Azure with `edge: frontDoor`, only Front Door reaches the app (access restrictions on the site),
# and Front Door puts the address of the TCP peer it served into X-Azure-SocketIP: the address its
# WAF counts, which a caller cannot choose. X-Forwarded-For and X-Azure-ClientIP may carry whatever
# the caller sent, so behind the edge the per-IP limits read X-Azure-SocketIP and nothing else.
BEHIND_EDGE_SETTING = "EVENTSTACK_BEHIND_EDGE"
EDGE_CLIENT_IP_HEADER = "x-azure-socketip"


def read_behind_edge(read: _Reader) -> bool:
    """EVENTSTACK_BEHIND_EDGE: "true" or "false"; unset means no edge (local runs, `edge: none`)."""
    raw = read.env.get(BEHIND_EDGE_SETTING, "").strip().lower() or "false"
    if raw not in ("true", "false"):
        read.problems.append(f"{BEHIND_EDGE_SETTING} must be true or false")
    return raw == "true"


# --- cross-origin calls ----------------------------------------------------------------------
# "*" (any origin; the default), "none", or space-separated origins: which browser pages may call
# the bearer-token endpoints. Sign-in pages never answer cross-origin, whatever this says.
_ORIGIN = re.compile(r"^https://[a-z0-9.-]+(:\d{1,5})?$|^http://(127\.0\.0\.1|localhost)(:\d{1,5})?$")


def read_cors_origins(read: _Reader) -> tuple[str, ...]:
    """EVENTSTACK_CORS_ORIGINS: `*`, `none`, or https origins (http only on loopback), space-separated."""
    raw = read.env.get(CORS_ORIGINS_SETTING, "").strip() or ANY_ORIGIN
    if raw == NO_ORIGIN:
        return ()
    origins = tuple(raw.split())
    if origins == (ANY_ORIGIN,):
        return origins
    if not all(_ORIGIN.fullmatch(origin) for origin in origins):
        read.problems.append(
            f"{CORS_ORIGINS_SETTING} must be *, none, or space-separated origins like https://play.example.org"
        )
        return ()
    return origins


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the settings; raise SettingsError naming every problem at once."""
    read = _Reader(env)
    settings = Settings(
        token_issuer=read.url("EVENTSTACK_TOKEN_ISSUER"),
        token_audience=read.url("EVENTSTACK_TOKEN_AUDIENCE"),
        token_ttl=timedelta(minutes=read.integer("EVENTSTACK_TOKEN_TTL_MINUTES", TOKEN_TTL_MINUTES)),
        retention=timedelta(hours=read.integer("EVENTSTACK_RETENTION_HOURS", RETENTION_HOURS)),
        event_ends_at=read.instant("EVENTSTACK_EVENT_ENDS_AT"),
        commands_per_minute=read.integer("EVENTSTACK_COMMANDS_PER_MINUTE", COMMANDS_PER_MINUTE),
        auth_requests_per_minute=read.integer("EVENTSTACK_AUTH_REQUESTS_PER_MINUTE", AUTH_REQUESTS_PER_MINUTE),
        max_concurrent_requests=read.integer("EVENTSTACK_MAX_CONCURRENT_REQUESTS", MAX_CONCURRENT_REQUESTS),
        max_outstanding_requests=read.integer("EVENTSTACK_MAX_OUTSTANDING_REQUESTS", MAX_OUTSTANDING_REQUESTS),
        github_client_id=read.text("EVENTSTACK_GITHUB_CLIENT_ID", _GITHUB_CLIENT_ID),
        github_base_url=read.url("EVENTSTACK_GITHUB_BASE_URL", DEFAULT_GITHUB_BASE_URL),
        github_api_url=read.url("EVENTSTACK_GITHUB_API_URL", DEFAULT_GITHUB_API_URL),
        sign_ins_per_minute=read.integer("EVENTSTACK_SIGN_INS_PER_MINUTE", SIGN_INS_PER_MINUTE),
        session_lifetime=timedelta(hours=read.integer("EVENTSTACK_SESSION_HOURS", SESSION_HOURS)),
        sessions_per_attendee=read.integer("EVENTSTACK_SESSIONS_PER_ATTENDEE", SESSIONS_PER_ATTENDEE),
        sign_in_mode=read.sign_in_mode("EVENTSTACK_SIGN_IN_MODE"),
        sign_in_grace=timedelta(minutes=read.integer("EVENTSTACK_SIGN_IN_GRACE_MINUTES", SIGN_IN_GRACE_MINUTES)),
        allowed_login_digests=read.digests("EVENTSTACK_ALLOWED_LOGIN_DIGESTS"),
        resources=_resources(read),
        controller_name=read.text(CONTROLLER_NAME_SETTING, _CONTROLLER_TEXT),
        controller_contact=read.text(CONTROLLER_CONTACT_SETTING, _CONTROLLER_TEXT),
        behind_edge=read_behind_edge(read),
        cors_origins=read_cors_origins(read),
    )
    # The discovery documents live at fixed well-known paths (eventapi/discovery.py): the issuer is an
    # origin (RFC 8414 section 3.1 then puts its metadata at the root) and the audience is its /api.
    if settings.token_issuer and urlsplit(settings.token_issuer).path:
        read.problems.append("EVENTSTACK_TOKEN_ISSUER must be an origin (scheme and host, no path)")
    if settings.token_issuer and settings.token_audience != f"{settings.token_issuer}/api":
        read.problems.append("EVENTSTACK_TOKEN_AUDIENCE must be EVENTSTACK_TOKEN_ISSUER followed by /api")
    if settings.max_outstanding_requests < settings.max_concurrent_requests:
        read.problems.append("EVENTSTACK_MAX_OUTSTANDING_REQUESTS must be at least EVENTSTACK_MAX_CONCURRENT_REQUESTS")
    if read.problems:
        raise SettingsError("the event API cannot start: " + "; ".join(read.problems))
    return settings
