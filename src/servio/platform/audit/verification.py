"""Walking every chain from its first event to its last, checking seals and links.

A changed row no longer matches its own hash; a row re-sealed after a change no longer
matches the ``prev_hash`` of the next one; a deleted row leaves a gap in ``seq`` and a
broken link. (Removing the newest events of a chain leaves no trace inside the chain;
keeping each chain's last hash elsewhere closes that gap.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from servio.platform.audit.models import AuditEvent
from servio.platform.audit.sealing import GENESIS, seal
from servio.platform.db import Database


@dataclass(frozen=True)
class Tamper:
    """The first event found that does not fit its chain, and why."""

    org_id: uuid.UUID | None
    seq: int
    event_id: uuid.UUID
    reason: str

    def __str__(self) -> str:
        org = "none" if self.org_id is None else str(self.org_id)
        return f"org {org} seq {self.seq} event {self.event_id}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    events: int
    chains: int
    tamper: Tamper | None = None

    @property
    def ok(self) -> bool:
        return self.tamper is None


class _ChainWalk:
    """State of the walk: the chain being read and what its next event must be."""

    def __init__(self) -> None:
        self.events = 0
        self.chains = 0
        self._chain: uuid.UUID | None = None
        self._next_seq = 1
        self._prev_hash = GENESIS

    def step(self, event: AuditEvent) -> Tamper | None:
        if event.chain_id != self._chain:
            self._chain, self._next_seq, self._prev_hash = event.chain_id, 1, GENESIS
            self.chains += 1
        self.events += 1
        reason = self._fault(event)
        self._next_seq, self._prev_hash = event.seq + 1, event.hash
        if reason is None:
            return None
        return Tamper(event.org_id, event.seq, event.id, reason)

    def _fault(self, event: AuditEvent) -> str | None:
        if seal(event) != event.hash:
            return "hash mismatch: the event differs from what was recorded"
        if event.seq != self._next_seq:
            missing = f"seq {self._next_seq}" if event.seq > self._next_seq else "an event"
            return f"broken link: {missing} missing or out of order before this event"
        if event.prev_hash != self._prev_hash:
            return "broken link: prev_hash does not match the previous event's hash"
        return None


async def verify(db: Database) -> VerifyResult:
    """Check every chain in order; report the first event that does not fit, if any."""
    walk = _ChainWalk()
    statement = (
        select(AuditEvent)
        .order_by(AuditEvent.chain_id, AuditEvent.seq)
        .execution_options(yield_per=500)
    )
    async with db.unit_of_work(system=True) as session:
        events = await session.stream_scalars(statement)
        try:
            async for event in events:
                tamper = walk.step(event)
                if tamper is not None:
                    return VerifyResult(walk.events, walk.chains, tamper)
                session.expunge(event)
        finally:
            await events.close()
    return VerifyResult(walk.events, walk.chains)
