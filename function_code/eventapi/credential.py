"""The app's Azure identity, built on the first token request rather than at start-up.

azure.identity (with msal behind it) is one of the heaviest imports of the app; no request before
the first storage or Key Vault call needs it, and a cold instance answers sooner without it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions


class LazyCredential:
    """DefaultAzureCredential (AZURE_CLIENT_ID picks the app's user-assigned identity), made on first use."""

    def __init__(self) -> None:
        self._inner: Any = None
        self._lock = threading.Lock()

    def _credential(self) -> Any:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    from azure.identity import DefaultAzureCredential

                    self._inner = DefaultAzureCredential()
        return self._inner

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token for `scopes` (TokenCredential)."""
        token: AccessToken = self._credential().get_token(*scopes, **kwargs)
        return token

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        """A token with its details for `scopes` (SupportsTokenInfo)."""
        info: AccessTokenInfo = self._credential().get_token_info(*scopes, options=options)
        return info

    def close(self) -> None:
        """Close the underlying credential, if it was ever made."""
        if self._inner is not None:
            self._inner.close()
