"""Serve a real app over ASGI for one test, closing its container afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from servio.platform.config import Settings
from servio.platform.http.idempotency import IdempotencyScope
from servio.web.app import create_app


@asynccontextmanager
async def app_client(
    settings: Settings,
    *,
    client: tuple[str, int] = ("127.0.0.1", 123),
    raise_errors: bool = True,
    idempotency_scope: IdempotencyScope | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, idempotency_scope=idempotency_scope)
    transport = httpx.ASGITransport(app=app, client=client, raise_app_exceptions=raise_errors)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http
    finally:
        await app.state.container.close()


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app
