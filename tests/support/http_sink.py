"""A provider's HTTP endpoint for delivery tests: an HTTP/1.1 server (keep-alive) on a
thread of its own that records every POST and, like a provider honouring idempotency
keys, applies a request once per ``Idempotency-Key``: a repeated key is acknowledged
and not applied again.

Switches a test flips: ``down`` (answer 503, apply nothing), ``fail_first`` (per key,
the statuses to answer before succeeding, e.g. ``[500]``), ``hold_after`` (once that
many keys are applied, apply further requests but hold their answers until
``release()``: the sender is stuck mid-batch, its requests applied but unacknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field

_REASONS = {200: "OK", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class HttpSink:
    down: bool = False
    fail_first: dict[str, list[int]] = field(default_factory=dict)
    hold_after: int | None = None
    applied: dict[str, bytes] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)
    replays: int = 0
    held: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _released: asyncio.Event | None = None
    _stopping: asyncio.Event | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/deliver"

    def start(self) -> HttpSink:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the HTTP sink did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(5)

    def release(self) -> None:
        """Answer the held requests (those whose sender still listens) and hold no more."""
        self.hold_after = None
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve(ready))
        self._loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._released, self._stopping = asyncio.Event(), asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=512)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        await self._stopping.wait()
        server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    def _answer(self, key: str, body: bytes) -> tuple[int, bool]:
        """The status to send, and whether to hold it; applies the request when due."""
        with self._lock:
            self.deliveries[key] += 1
            if self.down:
                return 503, False
            planned = self.fail_first.get(key)
            if planned:
                return planned.pop(0), False
            if key in self.applied:
                self.replays += 1
                return 200, False
            hold = self.hold_after is not None and len(self.applied) >= self.hold_after
            self.applied[key] = body
            self.held += hold
            return 200, hold

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._requests(reader, writer)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if line
                )
                headers = {k.lower(): v for k, v in headers.items()}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, hold = self._answer(headers.get("idempotency-key", ""), body)
                if hold and self._released is not None:
                    await self._released.wait()
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".encode()
                )
                await writer.drain()
