"""The data plane ignores proxies named in the environment: no setting can reroute the app's storage calls."""

from __future__ import annotations

import secrets
import socket

import pytest
from eventapi.storage.tables import QUOTAS, Tables

from dev.local import AzuritePorts

pytestmark = pytest.mark.azurite


def test_a_proxy_in_the_environment_does_not_reroute_the_tables(
    azurite: AzuritePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that accepts connections and never answers: a call routed through it would hang, then fail.
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen()
        address = f"http://127.0.0.1:{proxy.getsockname()[1]}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, address)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        tables = Tables.for_azurite(azurite.connection_string, connection_timeout=2, read_timeout=2, retry_total=0)
        partition = f"proxy-{secrets.token_hex(8)}"

        tables.create(QUOTAS, {"PartitionKey": partition, "RowKey": "r", "count": 1})
        row = tables.get(QUOTAS, partition, "r")

    assert row is not None and row["count"] == 1
