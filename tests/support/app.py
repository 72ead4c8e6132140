"""Serve a real app over ASGI for one test, closing its container afterwards; run its
outbox the way a worker would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from servio.platform.config import Settings
from servio.web.app import create_app


@asynccontextmanager
async def app_client(
    settings: Settings,
    *,
    client: tuple[str, int] = ("127.0.0.1", 123),
    raise_errors: bool = True,
    **app_options: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, **app_options)
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


async def deliver_outbox(client: httpx.AsyncClient) -> int:
    """Run the app's outbox once, as a worker would; returns how many messages it
    handled. Mail the app sent is then in the sink."""
    return await app_of(client).state.container.dispatcher("tests").drain()  # type: ignore[no-any-return]
