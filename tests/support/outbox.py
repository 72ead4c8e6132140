"""Queue emails, run a container's outbox as a worker would, and look at the rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from servio.app.container import Container
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.email import send_email
from servio.platform.outbox import OutboxMessage


@asynccontextmanager
async def running_container(settings: Settings) -> AsyncIterator[Container]:
    """The services a worker process builds from ``settings``, closed afterwards."""
    container = Container.from_settings(settings)
    try:
        yield container
    finally:
        await container.close()


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.unit_of_work(system=True) as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


async def make_due(db: Database) -> None:
    """Let every waiting message go now instead of after its backoff."""
    async with db.unit_of_work(system=True) as s:
        past = utcnow() - timedelta(seconds=1)
        await s.execute(update(OutboxMessage).values(next_attempt_at=past))


async def queue_email(db: Database, key: str, to: str = "ann@example.com", **options: Any) -> None:
    """Commit one password-reset style email whose link ends in ``key``."""
    async with db.unit_of_work(system=True) as s:
        await send_email(
            s,
            to=to,
            template="auth/password_reset",
            context={"link": f"https://servio.example/r?token={key}", "valid_minutes": 30},
            dedupe_key=key,
            **options,
        )
