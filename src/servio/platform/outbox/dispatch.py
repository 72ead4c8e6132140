"""Running claimed messages through their handlers and recording each outcome.

Failures back off exponentially with full jitter (a random wait between 0 and
``min(cap, base * 2**(attempt-1))``), dead-letter after the message's attempt limit,
and never stop the worker. Outcomes are written only while this worker still holds the
claim, so a worker that lost its claim cannot overwrite another's result.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from servio.platform.db import Database, utcnow
from servio.platform.logging import get_logger
from servio.platform.outbox.breaker import OPEN, Breakers
from servio.platform.outbox.claims import claim
from servio.platform.outbox.models import (
    DEAD,
    DONE,
    IN_FLIGHT,
    PENDING,
    SKIPPED,
    OutboxMessage,
    ProviderCircuit,
)
from servio.platform.outbox.registry import (
    Delivery,
    OutboxRegistry,
    PermanentFailure,
    RetryLater,
    Skipped,
)

log = get_logger("servio.outbox")
HISTORY_KEPT = 20


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None
    next_attempt_at: datetime | None
    duration_ms: float


@dataclass
class Dispatcher:
    db: Database
    registry: OutboxRegistry
    worker_id: str
    batch_size: int = 20
    concurrency: int = 10
    claim_seconds: float = 120.0
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    breakers: Breakers = field(default_factory=Breakers)

    async def drain(self, _db: Database | None = None, *, max_batches: int = 50) -> int:
        """Deliver due messages batch after batch until none are left (or ``max_batches``
        ran, so other work gets its turn); returns how many were handled."""
        done = 0
        for _ in range(max_batches):
            handled = await self.drain_once()
            done += handled
            if handled < self.batch_size:
                break
        return done

    async def drain_once(self, _db: Database | None = None) -> int:
        """Claim one batch and deliver it; returns how many messages were handled."""
        blocked = self.registry.kinds_of(self.breakers.blocked())
        rows = await claim(
            self.db,
            worker_id=self.worker_id,
            limit=self.batch_size,
            claim_seconds=self.claim_seconds,
            skip_kinds=blocked,
        )
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxMessage) -> None:
            async with gate:
                await self._record(row, await self._deliver(row))

        await asyncio.gather(*(one(r) for r in rows))
        return len(rows)

    async def _deliver(self, row: OutboxMessage) -> Outcome:
        started = time.perf_counter()
        route = self.registry.routes.get(row.kind)
        if route is None:
            return self._outcome(
                row, started, PermanentFailure(f"no handler for kind {row.kind!r}")
            )
        breaker = self.breakers.of(route.provider) if route.provider else None
        if breaker is not None and not breaker.allows():
            return Outcome(PENDING, "provider circuit open", utcnow() + timedelta(seconds=5), 0.0)
        delivery = Delivery(row.id, row.org_id, row.kind, row.payload, row.dedupe_key, row.attempts)
        try:
            await asyncio.wait_for(route.handler(delivery), route.timeout_seconds)
        except Exception as exc:  # a handler's failure is the message's, never the worker's
            if breaker is not None and isinstance(exc, PermanentFailure | Skipped):
                breaker.released()
            elif breaker is not None and breaker.failed():
                await self._save_circuit(route.provider or "", breaker.failures, str(exc))
            return self._outcome(row, started, exc)
        if breaker is not None and breaker.succeeded():
            await self._save_circuit(route.provider or "", 0, None)
        return self._outcome(row, started, None)

    def _outcome(self, row: OutboxMessage, started: float, exc: BaseException | None) -> Outcome:
        took = round((time.perf_counter() - started) * 1000, 2)
        if exc is None:
            return Outcome(DONE, None, None, took)
        if isinstance(exc, Skipped):
            return Outcome(SKIPPED, f"skipped: {exc}"[:2000], None, took)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, TimeoutError):
            error = "TimeoutError: the handler took too long"
        if isinstance(exc, PermanentFailure) or row.attempts >= row.max_attempts:
            return Outcome(DEAD, error, None, took)
        wait = self.backoff(row.attempts)
        if isinstance(exc, RetryLater) and exc.after_seconds is not None:
            wait = exc.after_seconds
        return Outcome(PENDING, error, utcnow() + timedelta(seconds=wait), took)

    def backoff(self, attempt: int) -> float:
        ceiling = min(
            self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** max(attempt - 1, 0)
        )
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    async def _record(self, row: OutboxMessage, outcome: Outcome) -> None:
        now = utcnow()
        entry: dict[str, Any] = {
            "at": now.isoformat(),
            "attempt": row.attempts,
            "worker": self.worker_id,
            "outcome": outcome.status,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.error:
            entry["error"] = outcome.error
        values: dict[str, Any] = {
            "status": outcome.status,
            "claimed_until": None,
            "last_error": outcome.error,
            "history": [*(row.history or []), entry][-HISTORY_KEPT:],
            "updated_at": now,
        }
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.status in (DONE, SKIPPED):
            values["done_at"] = now
        if outcome.status == PENDING and outcome.error == "provider circuit open":
            values["attempts"] = max(row.attempts - 1, 0)  # waiting is not an attempt
        async with self.db.unit_of_work(system=True, immediate=True) as s:
            await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row.id,
                    OutboxMessage.claimed_by == self.worker_id,
                    OutboxMessage.status == IN_FLIGHT,
                )
                .values(**values),
                execution_options={"synchronize_session": False},
            )
        if outcome.status == DEAD:
            log.warning("outbox_dead_letter", id=str(row.id), kind=row.kind, error=outcome.error)

    async def _save_circuit(self, provider: str, failures: int, error: str | None) -> None:
        # An upsert: several deliveries of one batch may fail at once and each report it.
        state = self.breakers.of(provider).state
        now = utcnow()
        values: dict[str, Any] = {
            "state": state,
            "failures": failures,
            "last_error": error,
            "updated_at": now,
            "opened_until": (
                now + timedelta(seconds=self.breakers.cooldown_seconds) if state == OPEN else None
            ),
        }
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        async with self.db.unit_of_work(system=True, immediate=True) as s:
            await s.execute(
                insert(ProviderCircuit)
                .values(provider=provider, **values)
                .on_conflict_do_update(index_elements=["provider"], set_=values)
            )
        log.warning("provider_circuit", provider=provider, state=state, error=error)


async def open_circuits(db: Database) -> list[ProviderCircuit]:
    """Providers whose circuit a worker reported open (for readiness)."""
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(select(ProviderCircuit).where(ProviderCircuit.state != "closed"))
        return list(rows)
