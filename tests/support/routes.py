"""Routes that tests add to a real app to reach platform behaviour (bodies, failures,
writes) that no production route of this issue exposes yet."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from servio.domains.identity import service
from servio.domains.identity.models import Org
from servio.platform.errors import TooManyRequests
from servio.platform.http.routing import JsonRoute
from servio.platform.ratelimit import enforce
from servio.web.deps import AppContainer, DbSession


class Booking(BaseModel):
    beds: int = Field(ge=0, le=10)
    email: str


class OrgIn(BaseModel):
    slug: str
    fail_after_write: bool = False


def install_probe_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/_t", route_class=JsonRoute, tags=["test"])

    @router.post("/echo", summary="Echo a JSON body")
    async def echo(body: Booking) -> Booking:
        return body

    @router.get("/boom", summary="Fail with a database-looking error")
    async def boom() -> None:
        raise RuntimeError("SELECT password_hash FROM users WHERE id = 1 -- psycopg error")

    @router.get("/slow-down", summary="Rate limited")
    async def slow_down() -> None:
        raise TooManyRequests("Try again in 30 seconds.", headers={"Retry-After": "30"})

    @router.get("/busy", summary="Refused with a retry delay and no explicit header")
    async def busy() -> None:
        raise TooManyRequests("Busy; try again in 12 seconds.", retry_after=12)

    @router.get("/per-principal/{principal}", summary="Limited per principal at a given rate")
    async def per_principal(
        principal: str, rate: str, container: AppContainer, response: Response
    ) -> dict[str, str]:
        decision = await enforce(container.limiter, f"principal:{principal}", rate)
        response.headers.update(decision.headers())
        return {"principal": principal}

    @router.get("/client", summary="The client address as the app sees it")
    async def client(request: Request) -> dict[str, str | None]:
        return {"ip": request.client.host if request.client else None, "scheme": request.url.scheme}

    @router.post("/orgs", summary="Create an org in the request's unit of work")
    async def create_org(body: OrgIn, session: DbSession) -> dict[str, str]:
        org = await service.ensure_org(
            session,
            slug=body.slug,
            name=body.slug,
            vertical="cleaning",
            timezone="UTC",
            currency="CAD",
        )
        if body.fail_after_write:
            raise RuntimeError("failed after writing")
        return {"id": str(org.id)}

    @router.post("/orgs-late-conflict", summary="Write a duplicate slug found only at commit")
    async def late_conflict(body: OrgIn, session: DbSession) -> dict[str, str]:
        session.add(
            Org(slug=body.slug, name="dup", vertical="cleaning", timezone="UTC", currency="CAD")
        )
        return {"status": "accepted"}

    @router.get("/orgs", summary="List orgs")
    async def list_orgs(session: DbSession) -> list[str]:
        return list((await session.scalars(select(Org.slug).order_by(Org.slug))).all())

    app.include_router(router)
