"""Each Problem ``type`` URI resolves to a page saying what it means."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from servio.platform.errors import PROBLEM_CATALOG, NotFound
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute

router = APIRouter(prefix="/problems", tags=["problems"], route_class=JsonRoute)


class ProblemType(BaseModel):
    type: str
    status: int
    title: str
    description: str


def _describe(name: str) -> ProblemType:
    status, title, description = PROBLEM_CATALOG[name]
    return ProblemType(
        type=f"/problems/{name}", status=status, title=title, description=description
    )


@router.get("", summary="Every problem type this API can answer with")
async def list_problem_types() -> list[ProblemType]:
    return [_describe(name) for name in sorted(PROBLEM_CATALOG)]


@router.get("/{name}", summary="What one problem type means", responses=problem_responses(404))
async def describe_problem_type(name: str) -> ProblemType:
    if name not in PROBLEM_CATALOG:
        raise NotFound(f"No problem type is called {name!r}.")
    return _describe(name)
