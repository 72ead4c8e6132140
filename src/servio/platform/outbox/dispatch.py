"""Running claimed messages through their handlers and recording each outcome.

Failures back off exponentially with full jitter (a random wait between 0 and
``min(cap, base * 2**(attempt-1))``), dead-letter after the attempt limit, and never
stop the worker. A handler never outlives the claim it runs under, so no other worker
takes a message while it is being delivered; outcomes are written only while this
worker still holds the claim (see ``outcomes.record``).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from servio.platform.db import Database, utcnow
from servio.platform.logging import get_logger
from servio.platform.outbox.breaker import Breaker, Breakers
from servio.platform.outbox.circuits import adopt_open_circuits, save_circuit
from servio.platform.outbox.claims import claim
from servio.platform.outbox.models import DEAD, DONE, PENDING, OutboxMessage
from servio.platform.outbox.outcomes import Outcome, failed, not_attempted, record
from servio.platform.outbox.registry import (
    Delivery,
    OutboxRegistry,
    PermanentFailure,
    Route,
    Skipped,
)

log = get_logger("servio.outbox")

# What a claim must still have left after a handler's deadline: time to write the
# outcome before another worker may take the message.
CLAIM_MARGIN_SECONDS = 1.0


@dataclass
class Dispatcher:
    db: Database
    registry: OutboxRegistry
    worker_id: str
    batch_size: int = 50
    concurrency: int = 25
    claim_seconds: float = 120.0
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    max_attempts: int = 8
    """The attempt limit of messages added without one of their own."""
    breakers: Breakers = field(default_factory=Breakers)
    circuit_sync_seconds: float = 5.0
    _circuits_read_at: float | None = field(default=None, init=False, repr=False)

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
        await self._read_circuits()
        rows = await claim(
            self.db,
            worker_id=self.worker_id,
            limit=self.batch_size,
            claim_seconds=self.claim_seconds,
            skip_kinds=self.registry.kinds_of(self.breakers.blocked()),
        )
        if rows:
            await self.deliver(rows)
        return len(rows)

    async def deliver(self, rows: list[OutboxMessage]) -> None:
        """Run claimed messages through their handlers (``concurrency`` at a time) and
        record every outcome in one transaction. Messages of one ordering key run one
        after another, in order; once one of them is to be retried, the ones after it
        are given back untried, to follow it."""
        gate = asyncio.Semaphore(self.concurrency)

        async def in_turn(run: list[OutboxMessage]) -> list[tuple[OutboxMessage, Outcome]]:
            results: list[tuple[OutboxMessage, Outcome]] = []
            for row in run:
                if results and results[-1][1].status == PENDING:
                    results.append((row, not_attempted(row, 0)))
                    continue
                async with gate:
                    results.append((row, await self._attempt(row)))
            return results

        runs = await asyncio.gather(*(in_turn(run) for run in _runs(rows)))
        results = [result for run in runs for result in run]
        await record(self.db, self.worker_id, results)
        for row, outcome in results:
            if outcome.status == DEAD:
                log.warning(
                    "outbox_dead_letter", id=str(row.id), kind=row.kind, error=outcome.error
                )

    def backoff(self, attempt: int) -> float:
        ceiling = min(
            self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** max(attempt - 1, 0)
        )
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    async def _attempt(self, row: OutboxMessage) -> Outcome:
        started = time.perf_counter()
        route = self.registry.routes.get(row.kind)
        limit = row.max_attempts or self.max_attempts
        if route is None:
            unknown = PermanentFailure(f"no handler for kind {row.kind!r}")
            return failed(row, unknown, limit=limit, backoff=0, took_ms=0.0)
        if row.attempts > limit:  # the worker of the last attempt was lost mid-delivery
            lost = PermanentFailure("the claim of the last attempt expired (worker lost)")
            return failed(row, lost, limit=limit, backoff=0, took_ms=0.0)
        budget = self._time_budget(row, route)
        if budget <= 0:
            return not_attempted(row, 0)
        breaker = self.breakers.of(route.provider) if route.provider else None
        if breaker is not None and not breaker.allows():
            wait = max(breaker.remaining_seconds(), min(1.0, self.breakers.cooldown_seconds))
            return not_attempted(row, wait)
        delivery = Delivery(row.id, row.org_id, row.kind, row.payload, row.dedupe_key, row.attempts)
        try:
            async with asyncio.timeout(budget):  # no task of its own, unlike wait_for
                await route.handler(delivery)
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and _being_cancelled():
                raise  # the worker is stopping; the claim expires and another takes it
            # A handler's failure is the message's, never the worker's.
            took = _ms_since(started)
            await self._provider_failed(route, breaker, exc)
            return failed(row, exc, limit=limit, backoff=self.backoff(row.attempts), took_ms=took)
        if breaker is not None and breaker.succeeded():
            await save_circuit(self.db, route.provider or "", breaker, None)
        return Outcome(DONE, duration_ms=_ms_since(started))

    def _time_budget(self, row: OutboxMessage, route: Route) -> float:
        """The handler's timeout, cut so it ends before the claim does."""
        left = (row.claimed_until - utcnow()).total_seconds() if row.claimed_until else 0.0
        return min(route.timeout_seconds, left - CLAIM_MARGIN_SECONDS)

    async def _provider_failed(
        self, route: Route, breaker: Breaker | None, exc: BaseException
    ) -> None:
        if breaker is None:
            return
        if isinstance(exc, PermanentFailure | Skipped):
            breaker.inconclusive()
        elif breaker.failed():
            await save_circuit(self.db, route.provider or "", breaker, str(exc)[:2000])

    async def _read_circuits(self) -> None:
        """Every few seconds, respect the circuits other workers report open."""
        now = time.monotonic()
        if self._circuits_read_at is not None and (
            now - self._circuits_read_at < self.circuit_sync_seconds
        ):
            return
        self._circuits_read_at = now
        try:
            await adopt_open_circuits(self.db, self.breakers)
        except Exception:
            log.exception("provider_circuits_not_read", worker_id=self.worker_id)


def _runs(rows: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The claimed messages as runs to deliver: one per ordering key, in order, and
    each message without a key alone."""
    runs: dict[str, list[OutboxMessage]] = {}
    alone: list[list[OutboxMessage]] = []
    for row in rows:
        if row.ordering_key is None:
            alone.append([row])
        else:
            runs.setdefault(row.ordering_key, []).append(row)
    for run in runs.values():
        run.sort(key=lambda r: (r.ordering_time or r.created_at, r.dedupe_key))
    return [*runs.values(), *alone]


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
