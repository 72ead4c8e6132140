"""How SQLite transactions begin: writers take the write lock at BEGIN, readers do not.

SQLite lets one connection write at a time. A transaction that began DEFERRED, read,
and then writes must upgrade its read lock to the write lock, and SQLite does not wait
(``busy_timeout``) for that upgrade: when another connection wrote meanwhile it fails at
once with "database is locked". So every transaction begins ``BEGIN IMMEDIATE``, which
waits its turn for the write lock under the busy timeout, unless the connection was
asked for read-only work (``READ_ONLY`` execution option): that one begins DEFERRED and
reads a snapshot while writers go on (WAL).

One case is kept apart: a task that already holds the write lock through one session
and opens a second writer on the same file would wait on itself until the busy timeout
ran out. That second transaction begins DEFERRED instead, so it can still read (what
was committed); if it tries to write it is refused at once with ``NestedWriter``
naming the mistake. Tasks are told apart by ``asyncio.current_task()``; a connection
that ended without COMMIT or ROLLBACK (lost) holds nothing, as it is checked when asked.

Writers of one process (the API and the demo's in-process worker share an event loop)
also queue in order on an asyncio lock per database file before BEGIN IMMEDIATE: left
to SQLite's busy handler, whose retries back off to 100 ms, a writer that has waited
long keeps losing the lock to newcomers and can run out the busy timeout while the
others go on. Other processes still meet at SQLite's lock under the busy timeout.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

READ_ONLY = "servio_read_only"
"""Execution option (and session info key) of read-only work: BEGIN stays DEFERRED."""

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)

_NESTED = "servio_nested_reader"  # connection info: began DEFERRED inside a writer
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

# The database files each task holds the write lock of, and the connection holding it
# (checked when asked, so a connection lost without a ROLLBACK holds nothing).
_held: weakref.WeakKeyDictionary[asyncio.Task[Any], dict[str, weakref.ref[Connection]]] = (
    weakref.WeakKeyDictionary()
)


class _WriterQueue:
    """Writers of one event loop to one database file, served first come, first served.
    The lock is released at COMMIT or ROLLBACK; a holder lost without either is found
    out when a waiter has waited the busy timeout, and the waiter then goes on."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holder: weakref.ref[Connection] | None = None
        self.waiting = 0

    async def enter(self, conn: Connection) -> bool:
        self.waiting += 1
        try:
            await asyncio.wait_for(self.lock.acquire(), BUSY_TIMEOUT_MS / 1000)
        except TimeoutError:
            holder = self.holder() if self.holder is not None else None
            if _holds_write_lock(holder) or not self.lock.locked():
                return False  # let SQLite's busy handler decide, as without the queue
            self.lock.release()  # the holder was lost: take its place
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        self.holder = weakref.ref(conn)
        return True

    def leave(self, conn: Connection) -> None:
        if self.holder is not None and self.holder() in (conn, None) and self.lock.locked():
            self.holder = None
            self.lock.release()


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _WriterQueue]] = (
    weakref.WeakKeyDictionary()
)
_QUEUED = "servio_writer_queue"  # connection info: the queue whose turn it holds


def _queue_of(file: str) -> _WriterQueue | None:
    if not in_greenlet():
        return None  # synchronous use: no event loop to queue on
    loop = asyncio.get_running_loop()
    return _queues.setdefault(loop, {}).setdefault(file, _WriterQueue())


def waiting_writers(database_file: str) -> int:
    """How many writers of the running event loop wait for their turn on the file."""
    queue = _queues.get(asyncio.get_running_loop(), {}).get(os.path.realpath(database_file))
    return 0 if queue is None else queue.waiting


class NestedWriter(RuntimeError):
    """A second writer opened by a task that already holds SQLite's write lock."""


def on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Let SQLAlchemy emit BEGIN itself (see ``on_begin``), and make SQLite behave."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop: synchronous use
        return None


def _file_of(conn: Connection) -> str:
    return os.path.realpath(conn.engine.url.database or "")


def _holds_write_lock(conn: Connection | None) -> bool:
    return conn is not None and not conn.closed and conn.in_transaction()


def on_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE for writers, DEFERRED for readers and nested writers."""
    conn.info[_NESTED] = False
    _leave_queue(conn)  # a turn left behind by a connection lost mid-transaction
    if conn.get_execution_options().get(READ_ONLY, False):
        conn.exec_driver_sql("BEGIN")
        return
    task, file = _current_task(), _file_of(conn)
    held = _held.setdefault(task, {}) if task is not None else {}
    holder = held.get(file)
    if holder is not None and _holds_write_lock(holder()):
        conn.info[_NESTED] = True
        conn.exec_driver_sql("BEGIN")
        return
    queue = _queue_of(file)
    if queue is not None and await_(queue.enter(conn)):
        conn.info[_QUEUED] = queue
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _leave_queue(conn)
        raise
    held[file] = weakref.ref(conn)


def _leave_queue(conn: Connection) -> None:
    queue = conn.info.pop(_QUEUED, None)
    if queue is not None:
        queue.leave(conn)


def on_end(conn: Connection) -> None:
    """At COMMIT or ROLLBACK: the connection gives the write lock up."""
    conn.info.pop(_NESTED, None)
    _leave_queue(conn)
    task = _current_task()
    held = _held.get(task) if task is not None else None
    if not held:
        return
    file = _file_of(conn)
    holder = held.get(file)
    if holder is not None and holder() in (conn, None):
        del held[file]


def refuse_nested_write(
    conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kw: Any
) -> None:
    """A nested writer would wait on its own task's lock until the busy timeout: say so."""
    if conn.info.get(_NESTED) and statement.lstrip()[:7].upper().startswith(_WRITES):
        raise NestedWriter(
            "This task already holds the SQLite write lock through another unit of work; "
            "finish that one first (a nested one may only read)."
        )
