"""Provider circuits as the workers report them in ``provider_circuits``: written when a
worker's breaker opens or closes, read by readiness, and read back by workers so a
circuit opened by another worker (or before a restart) is respected and later closed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from servio.platform.db import Database, utcnow
from servio.platform.db.conflicts import conflict_insert
from servio.platform.logging import get_logger
from servio.platform.outbox.breaker import CLOSED, Breaker, Breakers
from servio.platform.outbox.models import ProviderCircuit

log = get_logger("servio.outbox")


async def save_circuit(db: Database, provider: str, breaker: Breaker, error: str | None) -> None:
    """Report a breaker's new state. Best effort: a failure to report is logged and never
    fails the deliveries of the batch."""
    now = utcnow()
    state = breaker.state
    values = {
        "provider": provider,
        "state": state,
        "failures": breaker.failures,
        "last_error": error,
        "updated_at": now,
        "opened_until": (
            now + timedelta(seconds=breaker.remaining_seconds()) if state != CLOSED else None
        ),
    }
    statement = conflict_insert(db.dialect, ProviderCircuit).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["provider"],
        set_={k: v for k, v in values.items() if k != "provider"},
    )
    try:
        async with db.unit_of_work(system=True) as s:
            await s.execute(statement)
    except Exception:
        log.exception("provider_circuit_not_saved", provider=provider, state=state)
        return
    log.warning("provider_circuit", provider=provider, state=state, error=error)


async def open_circuits(db: Database) -> list[ProviderCircuit]:
    """Providers whose circuit a worker reported open (for readiness)."""
    async with db.reader(system=True) as s:
        rows = await s.scalars(select(ProviderCircuit).where(ProviderCircuit.state != CLOSED))
        return list(rows)


async def adopt_open_circuits(db: Database, breakers: Breakers) -> None:
    """Open locally every circuit reported open, for the cooldown it has left."""
    now = utcnow()
    for row in await open_circuits(db):
        left = (row.opened_until - now).total_seconds() if row.opened_until else 0.0
        breakers.of(row.provider).adopt_open(max(0.0, left))
