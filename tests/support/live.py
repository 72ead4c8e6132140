"""Serve an ASGI app on a real local port in a background thread, for fakes that stand
in for an outside provider (Turnstile, Stripe, …) and speak its HTTP protocol."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    app: ASGIApp, port: int | None = None, *, lifespan: Literal["on", "off"] = "off"
) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (on ``port``, else a free one) until the block ends;
    yields its base URL. With ``lifespan="on"`` the app's shutdown runs on the server's
    own loop (the real app closes its database pool there)."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
