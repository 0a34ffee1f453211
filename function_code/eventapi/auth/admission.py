"""Who may sign in: everyone (open), or the GitHub logins the organisers listed (allowlist).

The app never sees the list in clear: the program hands it HMACs of the lower-cased logins, made
with the same pepper the app holds, and the app compares the HMAC of the login GitHub reports.
"""

from __future__ import annotations

import hmac

from eventapi.pepper import KeyedHash
from eventapi.settings import SignInMode

LOGIN_PURPOSE = "github-login"


class Admission:
    """Decides, from pseudonyms only, whether a login may hold a session."""

    def __init__(self, mode: SignInMode, allowed_digests: frozenset[str], keyed_hash: KeyedHash) -> None:
        self._mode = mode
        self._allowed = allowed_digests
        self._keyed_hash = keyed_hash

    def login_key(self, login: str) -> str:
        """The pseudonym of a GitHub login; logins compare case-insensitively."""
        return self._keyed_hash.digest(LOGIN_PURPOSE, login.lower())

    def admits(self, login_key: str) -> bool:
        """True in open mode, or when the login's pseudonym is on the list."""
        if self._mode is SignInMode.OPEN:
            return True
        # compare_digest on each: no early exit that times the list.
        return any(hmac.compare_digest(login_key, allowed) for allowed in self._allowed)
