"""How the app's Azure SDK clients reach storage and Key Vault: directly, never through an environment proxy."""

from __future__ import annotations

from typing import Any

# Both are reached over their private endpoints in Azure (the loopback here): no proxy named in the
# environment may reroute them, and with environment settings on, requests scans the whole
# environment (every app setting) for proxies on each call: some 15% of a table read's CPU. The
# same switch ignores a CA bundle or a .netrc named there: the services' certificates chain to the
# public roots requests ships (certifi), and no credential comes from a file.
DIRECT_TRANSPORT: dict[str, Any] = {"use_env_settings": False}
