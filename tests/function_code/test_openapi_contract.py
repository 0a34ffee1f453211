"""The published OpenAPI document is true: schemathesis, run as a new user would, with every check.

`schemathesis run <base>/api/openapi.json` with every check and a bearer token, against the live local
API (uvicorn, Azurite behind it). Any failure (an undocumented status, a schema-valid request
refused, an `Allow` header that disagrees with the served methods, a response off its schema) fails
the test with schemathesis' own report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.function_code.conftest import RunningApi, User, sign_in

pytestmark = [pytest.mark.azurite, pytest.mark.slow(seconds=12)]

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Enough cases per operation to reach every documented status, few enough for `make test`.
MAX_EXAMPLES = 30
SEED = 14
RUN_TIMEOUT_SECONDS = 600

# The tokens come from the environment, so they are never written to disk.
CONFIG = """\
# Every check schemathesis has (the same as `--checks all`, which would also override the
# per-operation setting below).
checks.enabled = true
headers = { Authorization = "Bearer ${CONTRACT_TOKEN}" }

# Erasure ends every session of the caller: it gets a user of its own, so that the other
# operations keep a live token for the whole run.
[[operations]]
include-name = "DELETE /api/me"
headers = { Authorization = "Bearer ${CONTRACT_ERASE_TOKEN}" }

# A schema-valid device code or refresh token that this server never issued is refused with 400
# (`invalid_grant`), which schemathesis accepts from the operation the security scheme names as its
# `tokenUrl` (the device flow's, in the document): the token endpoint runs every check.
#
# Excluded by name, one check only: the sign-in confirmation refuses a schema-valid form (400)
# without the cookie its CSRF token was issued with, which no request schema can describe (login
# CSRF defence). Every other check still runs on this operation.
[[operations]]
include-name = "POST /api/auth/github"
checks.positive_data_acceptance.enabled = false
"""


def test_schemathesis_finds_nothing_with_all_checks(api: RunningApi, github: Any, tmp_path: Path) -> None:
    client = api.client()
    tokens = {
        "CONTRACT_TOKEN": sign_in(client, github, User(7_000_000_014, "contract")),
        "CONTRACT_ERASE_TOKEN": sign_in(client, github, User(7_000_000_015, "contract-erase")),
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{api.url}/api/openapi.json",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **tokens},
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    # A run that tested nothing, or never got past the token, would also exit 0.
    report = ElementTree.parse(next(tmp_path.glob("junit*.xml"))).getroot()  # noqa: S314 - written by this run
    tested = {case.get("name") for case in report.iter("testcase")}
    published = api.client().get("/api/openapi.json").json()["paths"]
    operations = {f"{method.upper()} {path}" for path, item in published.items() for method in item}
    assert tested == operations
    assert "Authentication failed" not in run.stdout, run.stdout[-4000:]
