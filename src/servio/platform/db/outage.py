"""Telling a database outage from a bug.

A lost connection, a connection or statement that timed out, a server shutting down,
SQLite still locked after its busy timeout: none of these is the request's fault or a
defect of ours, and each clears by itself when the database comes back. The HTTP layer
answers them 503 with Retry-After; the worker backs off and tries again.
"""

from __future__ import annotations

import errno
import socket

import asyncpg.exceptions as pg
from sqlalchemy import exc as sa

# How long a client is told to wait before retrying during an outage.
OUTAGE_RETRY_AFTER_SECONDS = 5

_DRIVER_OUTAGES: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,  # class 08: connection exceptions
    pg.OperatorInterventionError,  # class 57: statement timeout, shutdown, cannot connect now
    pg.InterfaceError,  # the driver's own: connection closed, lost mid-query
    ConnectionError,
    socket.gaierror,
    TimeoutError,
)
_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH}
    | {errno.ETIMEDOUT, errno.EPIPE, errno.ECONNABORTED, errno.ENETDOWN}
)
# SQLite says OperationalError for a missing table too; only these are outages.
_SQLITE_OUTAGES = ("database is locked", "database is busy", "unable to open", "disk i/o")
_SEARCH_DEPTH = 8


def _causes(error: BaseException) -> list[BaseException]:
    """``error``, the driver error SQLAlchemy wrapped, and what caused each."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(found) < _SEARCH_DEPTH:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, current.__cause__]
    return found


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database is unreachable, gone silent or locked, rather
    than that the statement or the data were wrong."""
    for cause in _causes(error):
        if isinstance(cause, sa.TimeoutError):
            return False  # a full pool is load (``service-busy``), not an outage
        if isinstance(cause, sa.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, sa.OperationalError) and _is_sqlite(cause):
            return any(text in str(cause.orig).lower() for text in _SQLITE_OUTAGES)
        if isinstance(cause, sa.OperationalError | sa.InterfaceError):
            return True
        if isinstance(cause, _DRIVER_OUTAGES):
            return True
        # asyncio's connect says "Multiple exceptions" with no errno when every address
        # of the host refused.
        if type(cause) is OSError and (cause.errno is None or cause.errno in _NETWORK_ERRNOS):
            return True
    return False


def _is_sqlite(error: sa.DBAPIError) -> bool:
    return type(error.orig).__module__.startswith(("sqlite3", "aiosqlite"))


def outage_reason(error: BaseException) -> str:
    """What the driver said, for a log line: never the SQL or its parameters, which
    SQLAlchemy's own message carries."""
    orig = getattr(error, "orig", None)
    return str(orig if isinstance(orig, BaseException) else error)[:200]
