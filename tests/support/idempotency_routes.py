"""POST routes whose every run leaves a trace (a list entry and an org row), to show
that a keyed request runs once; ways to end badly, to show what is not kept; and a
gate a run can stop at, before or after committing its write, as a stand-in for a
process that stalls or dies there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from servio.domains.identity.models import Org
from servio.platform.errors import TooManyRequests
from servio.platform.http.auth import Forbidden, NotAuthenticated
from servio.platform.http.routing import JsonRoute
from servio.web.deps import DbSession


class RunIn(BaseModel):
    slug: str
    delay: float = 0.0
    outcome: Literal[
        "created", "unavailable", "crash", "rate-limited", "unauthenticated", "forbidden"
    ] = "created"
    stop: Literal["committed", "before-write"] | None = None
    write: bool = True


@dataclass
class Gate:
    """Where the first run with ``stop`` waits: it sets ``reached`` and waits for
    ``opened``; later runs (its retries, with the same body) pass."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop_here(self) -> None:
        if self.reached.is_set():
            return
        self.reached.set()
        await self.opened.wait()


def install_idempotency_routes(app: FastAPI) -> list[str]:
    """Add the routes under ``/_t/idem``; returns the list each run appends its slug to.
    The runs' gate is ``app.state.idempotency_gate``."""
    runs: list[str] = []
    gate = app.state.idempotency_gate = Gate()
    router = APIRouter(prefix="/_t/idem", route_class=JsonRoute, tags=["test"])

    async def run(body: RunIn, session: DbSession, response: Response) -> Any:
        runs.append(body.slug)
        number = len(runs)
        if body.stop == "before-write":
            await gate.stop_here()
        if not body.write:
            return {"run": number}
        # Write before reading: on SQLite a transaction that reads first cannot wait for
        # the write lock another request holds, and these routes run concurrently.
        org = Org(
            slug=f"{body.slug}-{number}",
            name=body.slug,
            vertical="cleaning",
            timezone="UTC",
            currency="CAD",
        )
        session.add(org)
        await session.flush()
        if body.stop == "committed":
            await session.commit()
            await gate.stop_here()
        await asyncio.sleep(body.delay)
        if body.outcome == "crash":
            raise RuntimeError("failed after writing")
        if body.outcome == "rate-limited":
            raise TooManyRequests("Slow down.", headers={"Retry-After": "5"})
        if body.outcome == "unauthenticated":
            raise NotAuthenticated("Sign in again.")
        if body.outcome == "forbidden":
            raise Forbidden("Not for you.")
        if body.outcome == "unavailable":
            return JSONResponse({"detail": "try later"}, status_code=503)
        response.headers["Location"] = f"/_t/idem/orgs/{org.id}"
        response.headers["ETag"] = f'"{org.id.hex}"'
        response.set_cookie("session", "minted-for-the-first-run")
        return {"id": str(org.id), "slug": org.slug, "run": number}

    router.post("/orgs", summary="Create an org per run", status_code=201, response_model=None)(run)
    router.put("/orgs", summary="Create an org per run (PUT)", response_model=None)(run)

    @router.post("/stream", summary="Answer in several body chunks")
    async def stream() -> StreamingResponse:
        runs.append("stream")

        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                await asyncio.sleep(0)
                yield f"chunk-{n};".encode()

        return StreamingResponse(chunks(), media_type="text/plain", headers={"ETag": '"s1"'})

    app.include_router(router)
    return runs
