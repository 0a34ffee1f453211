"""Keeps the Functions ASGI adapter's message dumps out of the logs.

The adapter (azure.functions `_http_asgi`) logs every ASGI message it receives through the *root*
logger at DEBUG: "Received {'type': 'http.response.body', 'body': b'...'}", whole response bodies
with device codes, tokens and user codes. The worker lowers the root level to DEBUG when
PYTHON_ENABLE_DEBUG_LOGGING is set (which the policy pack refuses), so the level alone is no
guarantee: a filter on the root logger drops the adapter's records below WARNING.
"""

from __future__ import annotations

import logging

# Modules of the azure-functions library that log ASGI/WSGI messages (with bodies) on the root logger.
ADAPTER_MODULES = frozenset({"_http_asgi", "_http_wsgi"})


class AdapterBodyFilter(logging.Filter):
    """Drops the adapter's records below WARNING; everything else passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.module in ADAPTER_MODULES and record.levelno < logging.WARNING)


def install_adapter_body_filter() -> None:
    """Attach the filter to the root logger once (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(f, AdapterBodyFilter) for f in root.filters):
        root.addFilter(AdapterBodyFilter())
