"""Our own RFC 8628 authorization server, with GitHub's web flow as the identity provider.

1. `start`: a device asks for a device code and a user code.
2. The attendee's browser opens the verification page, confirms the user code, and is sent to
   GitHub (`begin_browser_step`: state + PKCE); GitHub sends it back (`complete_browser_step`),
   the user is read once and the grant approved, or refused if the login is not admitted.
3. `poll`: the device exchanges its code for a session: a short-lived access token and a
   rotating refresh token (`refresh`). GitHub is asked once per attendee, not once per token.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from eventapi.auth.admission import Admission
from eventapi.auth.browser import nonce_hash
from eventapi.auth.codes import (
    join_refresh_token,
    new_device_code,
    new_refresh_secret,
    new_state,
    new_user_code,
    normalize_user_code,
    pkce_challenge,
    split_refresh_token,
    split_state,
)
from eventapi.auth.github import GitHubRefused, GitHubUnavailable, GitHubWebFlow
from eventapi.auth.tokens import TokenService
from eventapi.pepper import KeyedHash
from eventapi.quotas import QuotaExceeded
from eventapi.settings import (
    BROWSER_STEPS_PER_CODE,
    DEVICE_CODE_LIFETIME,
    POLL_INTERVAL_SECONDS,
    SLOW_DOWN_STEP_SECONDS,
    Settings,
)
from eventapi.storage.device_codes import DeviceCodeStore, DeviceGrant, DeviceStatus
from eventapi.storage.sessions import Session, SessionGone, SessionStore, new_id
from eventapi.storage.tables import Conflict

# Events only: never codes, tokens, GitHub ids or logins.
log = logging.getLogger(__name__)
# Queued browsers come back spread over this many seconds after the app's GitHub budget renews. All
# at the turn of the minute, each callback holding a worker thread through two GitHub calls, they
# stalled every other request for seconds (docs/conference-day.md); half a window still leaves the
# whole budget to the queue.
QUEUE_SPREAD_SECONDS = 30


def queue_wait(retry_after: int) -> int:
    """How long one queued browser waits: until the budget renews, plus its share of the spread."""
    return retry_after + secrets.randbelow(QUEUE_SPREAD_SECONDS + 1)


_USER_CODE_ATTEMPTS = 4
# A poll re-reads its grant this often when the row changed under it (the callback settling it).
_POLL_ATTEMPTS = 3


class GrantError(StrEnum):
    """The token endpoint's refusals (RFC 8628 section 3.5, RFC 6749 section 5.2)."""

    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    DENIED = "access_denied"
    EXPIRED = "expired_token"
    INVALID = "invalid_grant"


class BrowserOutcome(StrEnum):
    """What the verification page and the callback tell the person in the browser."""

    APPROVED = "approved"
    NOT_ADMITTED = "not_admitted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    USED_UP = "used_up"
    WRONG_BROWSER = "wrong_browser"


@dataclass(frozen=True)
class Queued:
    """The app-wide GitHub budget is spent this minute: the browser retries the same step after the wait."""

    retry_after: int


@dataclass(frozen=True)
class DeviceStart:
    """What the device shows: the user code and where to enter it; the device code stays on the device."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenPair:
    """A session's short-lived access token and its next refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int


class SignIn:
    """Device codes, the browser step through GitHub, sessions and refresh-token rotation."""

    def __init__(
        self,
        *,
        settings: Settings,
        devices: DeviceCodeStore,
        sessions: SessionStore,
        tokens: TokenService,
        keyed_hash: KeyedHash,
        github: GitHubWebFlow,
        admission: Admission,
        clock: Callable[[], datetime],
        exchange_budget: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._devices = devices
        self._sessions = sessions
        self._tokens = tokens
        self._hash = keyed_hash
        self._github = github
        self._admission = admission
        self._clock = clock
        # Takes one GitHub code exchange from the app-wide budget, or raises QuotaExceeded.
        self._exchange_budget = exchange_budget

    # 1. The device -------------------------------------------------------------------------

    def start(self) -> DeviceStart:
        """A new pending grant: a device code for the device, a user code for the person."""
        now = self._clock()
        device_code = new_device_code()
        for _ in range(_USER_CODE_ATTEMPTS):
            user_code = new_user_code()
            grant = DeviceGrant(
                device_key=self._hash.digest("device-code", device_code),
                user_key=self._hash.digest("user-code", user_code),
                status=DeviceStatus.PENDING,
                expires_at=now + DEVICE_CODE_LIFETIME,
                interval=POLL_INTERVAL_SECONDS,
                last_poll=None,
                browser_steps=0,
                state_hash="",
                attendee_key="",
                login_key="",
                created_at=now,
                etag="",
            )
            try:
                self._devices.create(grant)
            except Conflict:
                continue  # that user code is live for someone else: draw another
            return DeviceStart(device_code, user_code, int(DEVICE_CODE_LIFETIME.total_seconds()), grant.interval)
        raise Conflict("no free user code")

    # 2. The browser ------------------------------------------------------------------------

    def pending_grant(self, typed_user_code: str) -> DeviceGrant | None:
        """The live, pending grant of a user code, for the verification page to describe."""
        user_code = normalize_user_code(typed_user_code)
        if user_code is None:
            return None
        grant = self._devices.by_user_code(self._hash.digest("user-code", user_code))
        if grant is None or grant.status is not DeviceStatus.PENDING or grant.expires_at <= self._clock():
            return None
        return grant

    def begin_browser_step(self, typed_user_code: str, nonce: str) -> str | BrowserOutcome:
        """GitHub's authorize URL for this grant, bound to the browser holding `nonce`, or why not.

        Each call is a new step with a fresh state; it replaces the previous step of the grant.
        The route has checked the CSRF token: only the confirmation form gets here.
        """
        grant = self.pending_grant(typed_user_code)
        if grant is None:
            return BrowserOutcome.UNKNOWN
        state = new_state(grant.device_key)
        now = self._clock()

        def step(current: DeviceGrant) -> DeviceGrant | None:
            if current.status is not DeviceStatus.PENDING or current.expires_at <= now:
                return None
            if current.browser_steps >= BROWSER_STEPS_PER_CODE:
                return None
            return replace(
                current,
                browser_steps=current.browser_steps + 1,
                state_hash=self._hash.digest("oauth-state", state),
                browser_hash=nonce_hash(self._hash, nonce),
            )

        read, written = self._devices.change(grant.device_key, step, known=grant)
        if written is None:
            used_up = read is not None and read.browser_steps >= BROWSER_STEPS_PER_CODE
            return BrowserOutcome.USED_UP if used_up else BrowserOutcome.UNKNOWN
        verifier = self._pkce_verifier(state, nonce)
        return self._github.authorize_url(state, pkce_challenge(verifier), self._settings.github_callback_url)

    def complete_browser_step(  # noqa: PLR0911 - one return per outcome the attendee is told
        self, code: str | None, state: str, error: str | None, nonce: str | None
    ) -> BrowserOutcome | Queued:
        """GitHub sent the browser back: approve the grant, or refuse it, leaving no trace of a refused person.

        The state is consumed (a conditional write) before anything else: a step is used once, and
        a replayed callback finds nothing. Only a browser with the step's cookie gets further, and
        only the code exchange takes from the app-wide GitHub budget; when that is spent the step
        is put back and the browser waits (Queued).
        """
        parts = split_state(state)
        if parts is None:
            return BrowserOutcome.UNKNOWN
        device_key, state_hash = parts[0], self._hash.digest("oauth-state", state)
        now = self._clock()
        grant = self._devices.by_device(device_key)
        if grant is None or not hmac.compare_digest(grant.state_hash, state_hash):
            return BrowserOutcome.UNKNOWN
        if grant.status is not DeviceStatus.PENDING or grant.expires_at <= now:
            return BrowserOutcome.EXPIRED
        bound = nonce is not None and hmac.compare_digest(grant.browser_hash, nonce_hash(self._hash, nonce))
        cancelled = error is not None or code is None

        def consume(current: DeviceGrant) -> DeviceGrant | None:
            if not hmac.compare_digest(current.state_hash, state_hash) or current.status is not DeviceStatus.PENDING:
                return None
            if bound and cancelled:
                return replace(current, state_hash="", status=DeviceStatus.DENIED)
            return replace(current, state_hash="", claim=state_hash if bound else current.claim)

        _, consumed = self._devices.change(device_key, consume, known=grant)
        if consumed is None:
            return BrowserOutcome.UNKNOWN  # another callback used this step first
        if not bound:
            # Someone else's step completed in this browser (login CSRF), or cookies are off.
            log.warning("browser step refused: not the browser that started it")
            return BrowserOutcome.WRONG_BROWSER
        if cancelled or code is None or nonce is None:
            return BrowserOutcome.CANCELLED
        try:
            self._exchange_budget()
        except QuotaExceeded as full:
            return self._requeue(consumed, state_hash, full.retry_after)
        try:
            verifier = self._pkce_verifier(state, nonce)
            user = self._github.user_for_code(code, verifier, self._settings.github_callback_url)
        except GitHubRefused:
            self._settle(consumed, state_hash, None)
            return BrowserOutcome.EXPIRED
        except GitHubUnavailable:
            self._settle(consumed, state_hash, None)
            raise
        login_key = self._admission.login_key(user.login)
        if not self._admission.admits(login_key):
            # Refused: the grant says only "denied"; neither the id nor the login is kept.
            self._settle(consumed, state_hash, DeviceStatus.DENIED)
            log.info("sign-in refused: not admitted")
            return BrowserOutcome.NOT_ADMITTED
        attendee_key = self._hash.digest("github-id", str(user.id))
        if not self._settle(consumed, state_hash, DeviceStatus.APPROVED, attendee_key, login_key):
            return BrowserOutcome.EXPIRED
        log.info("sign-in approved")
        return BrowserOutcome.APPROVED

    def _requeue(self, consumed: DeviceGrant, state_hash: str, retry_after: int) -> BrowserOutcome | Queued:
        """Put a consumed step back so that the same callback works after the wait."""

        def restore(current: DeviceGrant) -> DeviceGrant | None:
            if current.claim != state_hash or current.state_hash or current.status is not DeviceStatus.PENDING:
                return None  # a newer step replaced it, or the grant is over
            return replace(current, state_hash=state_hash, claim="")

        _, restored = self._devices.change(consumed.device_key, restore, known=consumed)
        if restored is None:
            return BrowserOutcome.EXPIRED
        log.info("sign-in queued: GitHub budget spent this minute")
        return Queued(queue_wait(retry_after))

    def _settle(
        self,
        consumed: DeviceGrant,
        state_hash: str,
        status: DeviceStatus | None,
        attendee_key: str = "",
        login_key: str = "",
    ) -> bool:
        """End the exchange of step `state_hash` (`consumed`: the grant as the step's claim wrote it):
        approve, deny, or (None) just release it.

        A poll may have rewritten the row meanwhile (its last_poll): that is no reason to lose the
        attendee's consent, so the change re-reads and applies while the grant is still pending
        with this step's claim.
        """
        now = self._clock()

        def settle(current: DeviceGrant) -> DeviceGrant | None:
            if current.claim != state_hash or current.status is not DeviceStatus.PENDING or current.expires_at <= now:
                return None
            if status is None:
                return replace(current, claim="")
            return replace(current, status=status, attendee_key=attendee_key, login_key=login_key, claim="")

        _, written = self._devices.change(consumed.device_key, settle, known=consumed)
        return written is not None

    def _pkce_verifier(self, state: str, nonce: str) -> str:
        # Derived, not stored: 64 hex characters only this app can compute, and only with the
        # browser's cookie nonce: a code completed in another browser cannot be redeemed.
        return self._hash.digest("pkce", f"{state}.{nonce}")

    # 3. The device again -------------------------------------------------------------------

    def poll(self, device_code: str) -> TokenPair | GrantError:  # noqa: PLR0911 - one per RFC 8628 answer
        """RFC 8628 section 3.4/3.5: a session once approved, else why not; polls are paced per code."""
        device_key = self._hash.digest("device-code", device_code)
        for _ in range(_POLL_ATTEMPTS):
            grant = self._devices.by_device(device_key)
            now = self._clock()
            if grant is None:
                return GrantError.INVALID
            if grant.expires_at <= now:
                return GrantError.EXPIRED
            # The first poll is never early; later ones must keep `interval` apart, or it grows.
            early = grant.last_poll is not None and now - grant.last_poll < timedelta(seconds=grant.interval)
            polled = replace(
                grant, last_poll=now, interval=grant.interval + SLOW_DOWN_STEP_SECONDS if early else grant.interval
            )
            if early:
                self._try_update(polled)
                return GrantError.SLOW_DOWN
            if grant.status is DeviceStatus.PENDING:
                if self._try_update(polled):
                    return GrantError.PENDING
                # The row changed since it was read: the browser step settled it, or another poll
                # came (then the next look finds that poll and answers slow_down).
                continue
            try:
                self._devices.redeem(grant)
            except Conflict:
                continue  # redeemed by a racing poll: the next look finds nothing
            if grant.status is DeviceStatus.DENIED or not self._admission.admits(grant.login_key):
                return GrantError.DENIED
            try:
                return self._new_session(grant.attendee_key, grant.login_key, now)
            except SessionGone:
                # The attendee erased their data while this sign-in was on its way: erasure wins.
                return GrantError.DENIED
        return GrantError.SLOW_DOWN

    def _try_update(self, grant: DeviceGrant) -> bool:
        try:
            self._devices.update(grant)
        except Conflict:
            return False
        return True

    def _new_session(self, attendee_key: str, login_key: str, now: datetime) -> TokenPair:
        family_id, secret = new_id(), new_refresh_secret()
        # A sign-in during the grace period works until the grace ends (sign-in and refresh close then).
        expires_at = min(now + self._settings.session_lifetime, self._settings.sign_in_closes_at)
        session = self._sessions.sign_in(
            attendee_key,
            login_key,
            now=now,
            expires_at=expires_at,
            family_id=family_id,
            token_hash=self._hash.digest("refresh", secret),
            max_families=self._settings.sessions_per_attendee,
        )
        return self._pair(session, join_refresh_token(session.session_id, family_id, secret))

    def _pair(self, session: Session, refresh_token: str) -> TokenPair:
        issued = self._tokens.issue(session.session_id)
        return TokenPair(issued.token, refresh_token, int(self._settings.token_ttl.total_seconds()))

    # Refresh -------------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> TokenPair | GrantError:
        """Rotate a refresh token; a used or forged one ends the whole session (reuse detection)."""
        parts = split_refresh_token(refresh_token)
        if parts is None:
            return GrantError.INVALID
        session_id, family_id, secret = parts
        now = self._clock()
        session = self._sessions.session(session_id, fresh=True)
        if session is None or session.expires_at <= now or not self._admission.admits(session.login_key):
            return GrantError.INVALID
        family = self._sessions.family(session_id, family_id)
        if family is None:
            return GrantError.INVALID
        if not hmac.compare_digest(family.token_hash, self._hash.digest("refresh", secret)):
            # An old token of this family came back: someone holds a copy. End everything.
            self._sessions.revoke(session_id)
            log.warning("refresh token reuse: session revoked")
            return GrantError.INVALID
        next_secret = new_refresh_secret()
        try:
            self._sessions.rotate(session_id, family, self._hash.digest("refresh", next_secret), now)
        except Conflict:
            # The same token was used twice at once: one of the two holders is not the attendee.
            self._sessions.revoke(session_id)
            log.warning("refresh token raced: session revoked")
            return GrantError.INVALID
        return self._pair(session, join_refresh_token(session_id, family_id, next_secret))
