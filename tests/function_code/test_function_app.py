"""function_app.py registers the ASGI app and the retention timer, and refuses to start on bad settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dev.local import AzuritePorts, api_environment, new_client_secret

FUNCTION_CODE = Path(__file__).resolve().parents[2] / "function_code"

_LIST_FUNCTIONS = """
import json, function_app
functions = function_app.app.get_functions()
print(json.dumps([
    {"name": f.get_function_name(), "bindings": [b.get_dict_repr()["type"] for b in f.get_bindings()],
     "auth": [b.get_dict_repr().get("authLevel") for b in f.get_bindings()],
     "schedule": [b.get_dict_repr().get("schedule") for b in f.get_bindings()]}
    for f in functions
], default=str))
"""


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LIST_FUNCTIONS],
        cwd=FUNCTION_CODE,
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def azure_settings(state_dir: Path) -> dict[str, str]:
    """App settings shaped as in Azure (Key Vault, managed identity, no connection string)."""
    env = api_environment(7071, "http://127.0.0.1:7072", AzuritePorts(1, 2, 3), state_dir, new_client_secret())
    env["EVENTSTACK_STORAGE_CONNECTION_STRING"] = ""
    env.update(
        {
            "EVENTSTACK_KEY_VAULT_URI": "https://kv-confdemo.vault.azure.net",
            "EVENTSTACK_SIGNING_KEY_NAME": "token-signing",
            "EVENTSTACK_PEPPER_SECRET_NAME": "github-id-pepper",
            "EVENTSTACK_GITHUB_SECRET_NAME": "github-client-secret",
            "EVENTSTACK_TABLE_ENDPOINT": "https://stconfdemo.table.core.windows.net",
            "EVENTSTACK_TOKEN_ISSUER": "https://app-confdemo.azurewebsites.net",
            "EVENTSTACK_TOKEN_AUDIENCE": "https://app-confdemo.azurewebsites.net/api",
        }
    )
    return env


def test_registers_an_anonymous_asgi_function_and_the_timer(tmp_path: Path) -> None:
    # Settings only: importing the app must not call storage, Key Vault or GitHub.
    result = _run(azure_settings(tmp_path))
    assert result.returncode == 0, result.stderr
    functions = {f["name"]: f for f in json.loads(result.stdout)}
    http = next(f for f in functions.values() if "httpTrigger" in f["bindings"])
    assert any("anonymous" in str(level).lower() for level in http["auth"])
    assert functions["retention_purge"]["bindings"] == ["timerTrigger"]
    assert functions["retention_purge"]["schedule"] == ["0 */15 * * * *"]
    assert len(functions) == 2


@pytest.mark.parametrize("client_id", ["Ov23liPlaceholder00", ""])
def test_refuses_to_start_on_placeholder_or_missing_settings(tmp_path: Path, client_id: str) -> None:
    env = api_environment(7071, "http://127.0.0.1:7072", AzuritePorts(1, 2, 3), tmp_path, new_client_secret())
    env["EVENTSTACK_GITHUB_CLIENT_ID"] = client_id
    result = _run(env)
    assert result.returncode != 0
    assert "EVENTSTACK_GITHUB_CLIENT_ID" in result.stderr
    assert "SettingsError" in result.stderr
