"""HTTP clients for the local tools, benchmarks and tests, sharing one TLS context.

httpx builds a new TLS context for every client, loading the whole CA bundle (about 24 ms on the
2-core machine, with the interpreter's lock held): a hall of simulated browsers paid that twice per
sign-in. One context, built on first use, serves every client; it verifies as httpx's default does.
"""

from __future__ import annotations

import functools
import socketserver
import ssl
import threading
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA-verifying TLS context every client here shares (exactly httpx's default)."""
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    """An httpx client on the shared TLS context; `options` as for `httpx.Client`."""
    return httpx.Client(verify=tls_context(), **options)


# `serve_forever` looks for a `shutdown()` only this often (0.5 s by default): every stop of a local
# server in the suite waited that long, about a minute of the whole run.
SHUTDOWN_POLL_SECONDS = 0.02


def serve_in_background(server: socketserver.BaseServer, name: str | None = None) -> threading.Thread:
    """Serve `server` from a daemon thread that `server.shutdown()` stops promptly."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, name=name, daemon=True
    )
    thread.start()
    return thread
