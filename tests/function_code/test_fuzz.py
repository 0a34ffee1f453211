"""Generated requests from the published OpenAPI document, valid and invalid: none may produce a 5xx.

Runs against the live uvicorn server (real HTTP, Azurite behind it), with and without a valid token.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from tests.function_code.conftest import RunningApi, User, bearer, sign_in

pytestmark = [pytest.mark.azurite, pytest.mark.slow(seconds=8)]


def test_generated_requests_never_get_a_server_error(api: RunningApi, github: Any) -> None:
    client = api.client()
    token = sign_in(client, github, User(7_000_000_001, "fuzzer"))
    schema = schemathesis.openapi.from_url(f"{api.url}/api/openapi.json")
    results = list(schema.get_all_operations())
    # Every operation of the published document must load: a broken one fails here, not silently.
    assert all(isinstance(result, Ok) for result in results)
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    # The DELETE would end the shared session: the erasure tests cover it.
    operations = [op for op in operations if op.method.upper() != "DELETE"]
    assert len(operations) >= 7

    for operation, mode in itertools.product(operations, GenerationMode):
        if mode is GenerationMode.NEGATIVE and not list(operation.body):
            continue  # nothing a caller sends can be invalid: positive cases cover it

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def never_a_server_error(case: Any) -> None:
            for headers in ({}, bearer(token)):
                response = case.call(base_url=api.url, headers=headers)
                assert response.status_code < 500, (case.method, case.path, response.status_code)
                html = "text/html" in str(response.headers.get("content-type", ""))
                if response.status_code >= 400 and not html:
                    body = response.json()
                    assert "error" in body and set(body) <= {"error", "error_description"}

        never_a_server_error()
