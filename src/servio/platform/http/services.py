"""How routes reach the composition root's container: the app puts it in every request's
state (``ServicesState``), and typed dependencies read what they need from it.

A dependency names the slice of the container it reads as a ``Protocol``
(``cast(Needs, provided(request))``), so mypy checks its use; the root's container satisfies
every such protocol (a test holds it to that).
"""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from servio.platform.clock import Clock
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.manifest import Core
from servio.platform.metrics import Metrics


class ServicesState:
    """Outermost ASGI layer: ``scope["state"]["services"]`` is the container, for every
    HTTP request (lifespan or not, as test transports run without one)."""

    def __init__(self, app: ASGIApp, services: object) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})["services"] = self.services
        await self.app(scope, receive, send)


def provided(request: Request) -> object:
    """The container; a dependency casts it to the protocol naming what it reads."""
    services: object = request.state.services
    return services


class Basics(Core, Protocol):
    @property
    def metrics(self) -> Metrics: ...


def deployment(request: Request) -> Settings:
    return cast(Basics, provided(request)).settings


def database(request: Request) -> Database:
    return cast(Basics, provided(request)).db


def clock(request: Request) -> Clock:
    return cast(Basics, provided(request)).clock


def metrics(request: Request) -> Metrics:
    return cast(Basics, provided(request)).metrics


Deployment = Annotated[Settings, Depends(deployment)]
Db = Annotated[Database, Depends(database)]
Now = Annotated[Clock, Depends(clock)]
