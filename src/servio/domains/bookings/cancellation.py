"""What happens to a paid deposit when a booking is cancelled (the cut-off
policy): cancelled at least ``bookings.cancel_cutoff_hours`` (default 24) before the
start, the deposit is refunded in full; later, it is kept. Staff may decide otherwise
for one booking (``refund_deposit``). A refund leaves through the outbox
(``payments.refund``, once per booking) for the payment provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.models import Booking, BookingEvent
from servio.domains.identity import service as identity
from servio.domains.payments import service as payments


@dataclass(frozen=True)
class Terms:
    refund_cents: int
    rule: str  # no_deposit_paid | before_cutoff | late_cancellation | staff_refund | staff_kept


def terms(
    *,
    deposit_paid_cents: int,
    start: datetime,
    now: datetime,
    cutoff: timedelta,
    refund_deposit: bool | None = None,
) -> Terms:
    """The refund due on cancelling at ``now``; a pure function of its inputs."""
    if deposit_paid_cents <= 0:
        return Terms(0, "no_deposit_paid")
    if refund_deposit is not None:
        return Terms(
            deposit_paid_cents if refund_deposit else 0,
            f"staff_{'refund' if refund_deposit else 'kept'}",
        )
    if now <= start - cutoff:
        return Terms(deposit_paid_cents, "before_cutoff")
    return Terms(0, "late_cancellation")


async def _deposit_paid(s: AsyncSession, b: Booking) -> int:
    """The deposit the provider reported paid for this booking (its timeline says)."""
    paid = await s.scalar(
        select(func.count())
        .select_from(BookingEvent)
        .where(BookingEvent.booking_id == b.id, BookingEvent.kind == "deposit_paid")
    )
    return b.deposit_cents if paid else 0


async def settle(
    s: AsyncSession, b: Booking, refund_deposit: bool | None, *, now: datetime
) -> dict[str, Any]:
    """Apply the cut-off policy to a booking being cancelled: store the refund on the
    booking, queue it, and return what the timeline should say."""
    settings = await identity.settings_of(s, b.org_id)
    cutoff = timedelta(hours=settings.cancel_cutoff_hours)
    found = terms(
        deposit_paid_cents=await _deposit_paid(s, b),
        start=b.starts_at,
        now=now,
        cutoff=cutoff,
        refund_deposit=refund_deposit,
    )
    b.refund_cents = found.refund_cents
    if found.refund_cents:
        await payments.queue_refund(s, b.org_id, b.id, found.refund_cents)
    return {"refund_cents": found.refund_cents, "refund_rule": found.rule}
