"""A real HTTP receiver on 127.0.0.1 (uvicorn serving a small Starlette app) that records
every request and answers with the statuses a test lines up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str
    client_port: int | None = None


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        """Queue the next answer; with none queued the receiver says 200 ``ok``."""
        self.answers.append((status, body, headers or {}))

    async def _handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        port = request.client.port if request.client else None
        self.requests.append(Received(request.url.path, dict(request.headers), body, port))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, text, headers = self.answers.pop(0) if self.answers else (200, "ok", {})
        return Response(text, status_code=status, headers=headers, media_type="text/plain")


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver._handle, methods=["POST", "GET"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()
