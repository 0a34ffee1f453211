"""The allowlist as the app receives it: HMAC-SHA256 of each lower-cased GitHub login, keyed by the pepper.

The same construction as the app's `KeyedHash.digest("github-login", login)`: the app compares the
HMAC of the login GitHub reports with these, and never learns the list in clear.
"""

from __future__ import annotations

import hashlib
import hmac

# The app's `eventapi.auth.admission.LOGIN_PURPOSE`; a test keeps the two equal.
LOGIN_PURPOSE = "github-login"


def login_digests(pepper: str, logins: tuple[str, ...]) -> str:
    """Comma-separated digests, sorted so that the setting changes only when the list does."""
    digests = {
        hmac.new(pepper.encode(), f"{LOGIN_PURPOSE}:{login.lower()}".encode(), hashlib.sha256).hexdigest()
        for login in logins
    }
    return ",".join(sorted(digests))
