"""FastAPI dependencies shared by every router: the container and the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from servio.app.container import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed once when the handler succeeds, rolled back
    when it raises. Runs before the response is sent, so a failed commit is a 500, not
    a 200 over lost data."""
    async with get_container(request).db.unit_of_work() as session:
        yield session


AppContainer = Annotated[Container, Depends(get_container)]
DbSession = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
