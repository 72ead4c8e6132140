"""A worker plugin (``SERVIO_WORKER_PLUGINS=tests.support.worker_defect``) whose work
item ends the worker loop the way only a defect could: with an error that is not an
``Exception``, which no pass catches."""

from __future__ import annotations

from servio.app.container import Container
from servio.platform.db import Database


class WorkerDefect(BaseException):
    """Stands for a defect in the loop itself."""


def register(container: Container) -> None:
    async def end_the_loop(_db: Database) -> int:
        raise WorkerDefect("the loop broke")

    container.work.register("end_the_loop", end_the_loop)
