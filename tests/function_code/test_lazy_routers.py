"""Lazy routers: built on the first request under their paths, in a fixed order, all in the document."""

from __future__ import annotations

import asyncio
import importlib
import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventapi.app import ROUTERS
from eventapi.lazy_routers import Router, include_routers
from fastapi import FastAPI

from tests.function_code.test_function_app import FUNCTION_CODE, azure_settings

_ROUTER_MODULE = """
from fastapi import APIRouter

router = APIRouter()


@router.get("{path}")
def answer() -> dict[str, str]:
    return {{"from": "{name}"}}
"""


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Writes a router module serving GET `path`; returns its (unique) module name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(path: str) -> str:
        name = f"lazy_router_{secrets.token_hex(6)}"
        (tmp_path / f"{name}.py").write_text(_ROUTER_MODULE.format(path=path, name=name))
        made.append(name)
        return name

    yield make
    for name in made:
        sys.modules.pop(name, None)


def _ask(app: FastAPI, *requests: tuple[str, str]) -> list[httpx.Response]:
    """Send (method, path) requests to the ASGI app in turn, in process."""

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
            return [await client.request(method, path) for method, path in requests]

    # A private loop: asyncio.run would also clear the thread's current loop, which Pulumi's mocks
    # need in later tests of the same process.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(send_all())
    finally:
        loop.close()


def _json(response: httpx.Response) -> Any:
    return response.json()


def test_a_lazy_router_is_imported_on_the_first_request_under_its_paths(make_module: Callable[[str], str]) -> None:
    eager, lazy = make_module("/eager"), make_module("/lazy/thing")
    app = FastAPI()
    routers = include_routers(app, [Router(eager, "/x"), Router(lazy, "/x", lazy_under=("/x/lazy/",))])
    assert eager in sys.modules
    assert lazy not in sys.modules
    assert routers.pending == {lazy}

    (elsewhere,) = _ask(app, ("GET", "/x/eager"))
    assert _json(elsewhere) == {"from": eager}
    assert lazy not in sys.modules, "a request elsewhere builds nothing"
    (under,) = _ask(app, ("GET", "/x/lazy/thing"))
    assert _json(under) == {"from": lazy}
    assert lazy in sys.modules
    assert routers.pending == frozenset()


def test_routes_keep_the_lists_order_whatever_is_asked_first(make_module: Callable[[str], str]) -> None:
    first, second, third = make_module("/a/one"), make_module("/b/two"), make_module("/c/three")
    app = FastAPI()
    include_routers(
        app,
        [
            Router(first, "/x", lazy_under=("/x/a/",)),
            Router(second, "/x"),
            Router(third, "/x", lazy_under=("/x/c/",)),
        ],
    )
    third, first_asked, document = _ask(app, ("GET", "/x/c/three"), ("GET", "/x/a/one"), ("GET", "/openapi.json"))
    assert (third.status_code, first_asked.status_code) == (200, 200)
    assert list(_json(document)["paths"]) == ["/x/a/one", "/x/b/two", "/x/c/three"]


def test_the_document_lists_routers_never_requested(make_module: Callable[[str], str]) -> None:
    lazy = make_module("/lazy/page")
    app = FastAPI()
    include_routers(app, [Router(lazy, "/x", lazy_under=("/x/lazy/",))])
    (document,) = _ask(app, ("GET", "/openapi.json"))
    assert list(_json(document)["paths"]) == ["/x/lazy/page"]


def test_an_unknown_method_on_a_lazy_path_is_refused_as_before(make_module: Callable[[str], str]) -> None:
    lazy = make_module("/lazy/page")
    app = FastAPI()
    include_routers(app, [Router(lazy, "/x", lazy_under=("/x/lazy/",))])
    (refused,) = _ask(app, ("PUT", "/x/lazy/page"))
    assert refused.status_code == 405


# What a cold instance needs only once someone signs in: the sign-in's flow, its stores, its models.
SIGN_IN_MODULES = ("eventapi.auth.sign_in", "eventapi.storage.device_codes", "eventapi.oauth_models")


def test_the_function_app_builds_only_the_eager_routers_at_import(tmp_path: Path) -> None:
    script = (
        "import json, sys, function_app\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('eventapi.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=FUNCTION_CODE,
        env={**azure_settings(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    eager = sorted(router.module for router in ROUTERS if not router.lazy_under)
    assert [m for m in imported if m.startswith("eventapi.routes.")] == eager
    assert len(eager) < len(ROUTERS)
    assert not set(SIGN_IN_MODULES) & set(imported)


def test_a_router_that_failed_to_build_is_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"lazy_router_{secrets.token_hex(6)}"
    module = tmp_path / f"{name}.py"
    module.write_text("raise RuntimeError('not deployable yet')\n")
    app = FastAPI()
    routers = include_routers(app, [Router(name, "/x", lazy_under=("/x/late/",))])
    with pytest.raises(RuntimeError, match="not deployable yet"):
        _ask(app, ("GET", "/x/late/page"))
    assert routers.pending == {name}

    module.write_text(_ROUTER_MODULE.format(path="/late/page", name=name))
    importlib.invalidate_caches()
    (answer,) = _ask(app, ("GET", "/x/late/page"))
    assert _json(answer) == {"from": name}
    sys.modules.pop(name, None)
