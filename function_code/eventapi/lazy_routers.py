"""Routers built on their first request, so that a cold start builds only the routes it serves at once.

FastAPI builds a route's models and dependencies when the route is declared, so importing a router
module costs that for each of its routes. A router with `lazy_under` paths is imported and included
the first time a request's path starts with one of them, or when the OpenAPI document is built
(the document lists every route). Routes keep the order of the list whatever the order of first
requests, so every instance routes alike and publishes the same document.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Router:
    """A module whose `router` is included under `prefix`; with `lazy_under`, on its first request only."""

    module: str
    prefix: str = ""
    lazy_under: tuple[str, ...] = ()


class Routers:
    """Includes `routers` in `app`: the eager ones at once, each lazy one on the first request it serves."""

    def __init__(self, app: FastAPI, routers: Sequence[Router]) -> None:
        self.app = app
        self._order = tuple(routers)
        self._included: dict[Router, list[BaseRoute]] = {}
        self._pending = {router: router.lazy_under for router in routers if router.lazy_under}
        self._lock = threading.Lock()
        for router in routers:
            if not router.lazy_under:
                self._include(router)

    @property
    def pending(self) -> frozenset[str]:
        """The modules not built yet."""
        return frozenset(router.module for router in self._pending)

    def load_for(self, path: str) -> None:
        """Include every pending router that serves `path`."""
        for router, paths in tuple(self._pending.items()):
            if path.startswith(paths):
                self._load(router)

    def load_all(self) -> None:
        """Include every pending router."""
        for router in tuple(self._pending):
            self._load(router)

    def _load(self, router: Router) -> None:
        with self._lock:
            if router in self._pending:  # not included by a request just before
                self._include(router)
                # Only once included: a router that failed to build is tried again by the next request.
                del self._pending[router]

    def _include(self, router: Router) -> None:
        routes = self.app.router.routes
        before = len(routes)
        self.app.include_router(importlib.import_module(router.module).router, prefix=router.prefix)
        self._included[router] = routes[before:]
        ours = {id(route) for included in self._included.values() for route in included}
        # In place: the app's own routes (the document, the docs page) first, then the list's order.
        routes[:] = [route for route in routes if id(route) not in ours] + [
            route for known in self._order for route in self._included.get(known, ())
        ]

    def middleware(self, inner: ASGIApp) -> ASGIApp:
        """ASGI middleware: before routing, include the routers the request's path needs."""

        async def include_then_route(scope: Scope, receive: Any, send: Any) -> None:
            if self._pending and scope["type"] == "http":
                self.load_for(scope["path"])
            await inner(scope, receive, send)

        return include_then_route


def include_routers(app: FastAPI, routers: Sequence[Router]) -> Routers:
    """Include `routers` in `app`, the lazy ones on first use; add this before any other middleware."""
    included = Routers(app, routers)
    app.add_middleware(included.middleware)
    build_document = app.openapi

    def openapi() -> dict[str, Any]:
        included.load_all()
        return build_document()

    app.openapi = openapi  # type: ignore[method-assign]
    return included
