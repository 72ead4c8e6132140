"""What became of each claimed message, and writing it back.

A batch's outcomes are written in one transaction (one statement run for every row),
and each row only while this worker still holds the claim it was delivered under
(same ``claimed_by``, same attempt, still in flight): a worker whose claim expired and
was taken over cannot overwrite the other worker's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Table, bindparam, update

from servio.platform.db import Database, UTCDateTime, utcnow
from servio.platform.outbox.models import DEAD, DONE, IN_FLIGHT, PENDING, SKIPPED, OutboxMessage
from servio.platform.outbox.registry import PermanentFailure, RetryLater, Skipped

HISTORY_KEPT = 20


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None
    next_attempt_at: datetime | None = None
    duration_ms: float = 0.0
    # False when the handler never ran (circuit open, claim too short to start): the
    # attempt is given back and nothing is added to the history.
    attempted: bool = True


def not_attempted(row: OutboxMessage, wait_seconds: float) -> Outcome:
    """Put a claimed message back, untouched, to be claimed again after ``wait_seconds``."""
    return Outcome(
        PENDING, row.last_error, utcnow() + timedelta(seconds=wait_seconds), attempted=False
    )


def failed(
    row: OutboxMessage, exc: BaseException, *, limit: int, backoff: float, took_ms: float
) -> Outcome:
    """A failed attempt: dead when it can never succeed or the attempts are spent,
    otherwise pending again after ``backoff`` (or the wait the provider asked for)."""
    if isinstance(exc, Skipped):  # final, not a failure: e.g. a suppressed address
        return Outcome(SKIPPED, f"skipped: {exc}"[:2000], duration_ms=took_ms)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, TimeoutError):
        error = "TimeoutError: the handler took too long"
    elif isinstance(exc, asyncio.CancelledError):
        error = "CancelledError: the handler was cancelled"
    if isinstance(exc, PermanentFailure) or row.attempts >= limit:
        return Outcome(DEAD, error, duration_ms=took_ms)
    wait = backoff
    if isinstance(exc, RetryLater) and exc.after_seconds is not None:
        wait = exc.after_seconds
    return Outcome(PENDING, error, utcnow() + timedelta(seconds=wait), took_ms)


def _history(row: OutboxMessage, outcome: Outcome, worker_id: str, now: datetime) -> Any:
    if not outcome.attempted:
        return row.history or []
    entry: dict[str, Any] = {
        "at": now.isoformat(),
        "attempt": row.attempts,
        "worker": worker_id,
        "outcome": outcome.status,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.error:
        entry["error"] = outcome.error
    return [*(row.history or []), entry][-HISTORY_KEPT:]


def _params(row: OutboxMessage, outcome: Outcome, worker_id: str, now: datetime) -> dict[str, Any]:
    return {
        "b_id": row.id,
        "b_worker": worker_id,
        "b_claimed_attempts": row.attempts,
        "b_status": outcome.status,
        "b_attempts": row.attempts if outcome.attempted else max(row.attempts - 1, 0),
        "b_error": outcome.error,
        "b_history": _history(row, outcome, worker_id, now),
        "b_next": outcome.next_attempt_at or row.next_attempt_at,
        "b_done": now if outcome.status in (DONE, SKIPPED) else None,
    }


def _record_statement(now: datetime) -> Any:
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]
    c = table.c
    return (
        update(table)
        .where(
            c.id == bindparam("b_id"),
            c.claimed_by == bindparam("b_worker"),
            c.attempts == bindparam("b_claimed_attempts"),
            c.status == IN_FLIGHT,
        )
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            last_error=bindparam("b_error"),
            history=bindparam("b_history", type_=JSON()),
            next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
            done_at=bindparam("b_done", type_=UTCDateTime()),
            claimed_until=None,
            updated_at=now,
        )
    )


async def record(
    db: Database, worker_id: str, results: Sequence[tuple[OutboxMessage, Outcome]]
) -> None:
    """Write a batch's outcomes in one transaction, each guarded by its claim."""
    if not results:
        return
    now = utcnow()
    params = [_params(row, outcome, worker_id, now) for row, outcome in results]
    async with db.unit_of_work(system=True) as s:
        await s.execute(_record_statement(now), params)
