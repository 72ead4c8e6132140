"""What a domain hands the composition root: its tables, routers, outbox handlers, jobs,
email templates and demo seeders, in one value.

The root (``servio.app``) collects one ``Manifest`` per domain and wires each part where
it belongs: routers into the API app, handlers into the outbox registry, jobs into the
job registry, templates into the mailer, seeders into ``servio seed demo``. A domain
names what it needs from the container as a ``Protocol`` (the ``N`` of its manifest);
the root's container provides it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.clock import Clock
from servio.platform.config import Settings
from servio.platform.db import Database

if TYPE_CHECKING:
    from fastapi import APIRouter

    from servio.platform.jobs import Job
    from servio.platform.outbox import OutboxRegistry

N = TypeVar("N", contravariant=True)

Seeder = Callable[[AsyncSession, Settings], Awaitable[Any]]
"""Adds a domain's demo data in the seeding transaction; idempotent."""


class Core(Protocol):
    """What every domain may take from the container."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def on_close(self) -> list[Callable[[], Awaitable[object]]]:
        """Closers the container calls at shutdown (a client a handler opened, say)."""
        ...


def _no_routers() -> Sequence[APIRouter]:
    return ()


def _no_jobs(_needs: object) -> Iterable[Job]:
    return ()


@dataclass(frozen=True)
class Manifest(Generic[N]):
    """One domain's parts. ``routers`` is a function so that processes serving no HTTP
    (the worker, the CLI) never build them; ``handlers`` registers the outbox kinds the
    domain handles; ``jobs`` gives its scheduled jobs."""

    name: str
    models: ModuleType | None = None
    routers: Callable[[], Sequence[APIRouter]] = _no_routers
    handlers: Callable[[N, OutboxRegistry], None] | None = None
    jobs: Callable[[N], Iterable[Job]] = _no_jobs
    email_templates: Path | None = None
    seeders: Sequence[tuple[str, Seeder]] = field(default=())
