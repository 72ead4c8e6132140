"""What a cancellation refunds: the cut-off's equality boundary, staff keeping or
refunding the deposit, a required deposit that was never paid, and another booking's
payment that must not count. ``terms`` is pure; ``settle`` runs on an in-memory SQLite
holding only the three tables it reads and writes (no server, no HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

import servio.app.models  # noqa: F401  (every table, so the foreign keys resolve)
from servio.domains.bookings.cancellation import Terms, settle, terms
from servio.domains.bookings.models import Booking, BookingEvent
from servio.domains.identity.models import OrgSetting
from servio.domains.payments.service import REFUND
from servio.platform.outbox.models import OutboxMessage

START = datetime(2027, 6, 2, 16, tzinfo=UTC)
DAY = timedelta(hours=24)
ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
# What settle reads and writes: the booking and its timeline, the org's settings, the outbox.
TABLES = (Booking.__tablename__, BookingEvent.__tablename__, OrgSetting.__tablename__, "outbox")


def due(paid: int, before_start: timedelta, refund_deposit: bool | None = None) -> Terms:
    return terms(
        deposit_paid_cents=paid,
        start=START,
        now=START - before_start,
        cutoff=DAY,
        refund_deposit=refund_deposit,
    )


def test_cancelled_exactly_at_the_cutoff_is_refunded_a_second_later_is_kept() -> None:
    assert due(50_00, DAY) == Terms(50_00, "before_cutoff")
    assert due(50_00, DAY + timedelta(seconds=1)) == Terms(50_00, "before_cutoff")
    assert due(50_00, DAY - timedelta(seconds=1)) == Terms(0, "late_cancellation")
    assert due(50_00, -timedelta(hours=1)) == Terms(0, "late_cancellation")


def test_staff_may_refund_late_or_keep_early() -> None:
    assert due(50_00, timedelta(hours=1), refund_deposit=True) == Terms(50_00, "staff_refund")
    assert due(50_00, 3 * DAY, refund_deposit=False) == Terms(0, "staff_kept")


@pytest.mark.parametrize("refund_deposit", [None, True, False])
def test_nothing_paid_nothing_refunded_whatever_staff_say(refund_deposit: bool | None) -> None:
    assert due(0, 3 * DAY, refund_deposit) == Terms(0, "no_deposit_paid")
    assert due(-1, 3 * DAY, refund_deposit) == Terms(0, "no_deposit_paid")


def test_one_cent_paid_counts() -> None:
    assert due(1, 3 * DAY) == Terms(1, "before_cutoff")


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    metadata = OutboxMessage.metadata
    tables = [metadata.tables[name] for name in TABLES]
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=tables))
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        yield s
    await engine.dispose()


def booking(deposit_cents: int, starts_at: datetime = START) -> Booking:
    return Booking(
        id=uuid.uuid4(),
        org_id=ORG,
        resource_id=uuid.uuid4(),
        reservation_id=uuid.uuid4(),
        name="Ada",
        email="ada@example.com",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=3),
        currency="CAD",
        deposit_required=deposit_cents > 0,
        deposit_cents=deposit_cents,
    )


async def add_booking(s: AsyncSession, b: Booking, *events: str) -> Booking:
    s.add(b)
    for kind in events:
        s.add(BookingEvent(org_id=b.org_id, booking_id=b.id, kind=kind, actor="test", detail={}))
    await s.flush()
    return b


async def refunds(s: AsyncSession) -> list[tuple[str, Any, str, uuid.UUID | None]]:
    rows = await s.scalars(select(OutboxMessage).order_by(OutboxMessage.dedupe_key))
    return [(m.kind, m.payload, m.dedupe_key, m.org_id) for m in rows]


async def test_a_paid_deposit_cancelled_in_time_is_refunded_through_the_outbox(
    session: AsyncSession,
) -> None:
    b = await add_booking(session, booking(50_00), "created", "deposit_paid")
    said = await settle(session, b, None, now=START - 2 * DAY)
    assert said == {"refund_cents": 50_00, "refund_rule": "before_cutoff"}
    assert b.refund_cents == 50_00
    assert await refunds(session) == [
        (
            REFUND,
            {"booking_id": str(b.id), "amount_cents": 50_00},
            f"payments.refund:{b.id}",
            ORG,
        )
    ]


async def test_a_required_deposit_never_paid_refunds_nothing(session: AsyncSession) -> None:
    b = await add_booking(session, booking(50_00), "created", "deposit_requested")
    said = await settle(session, b, True, now=START - 2 * DAY)
    assert said == {"refund_cents": 0, "refund_rule": "no_deposit_paid"}
    assert b.refund_cents == 0
    assert await refunds(session) == []


async def test_another_bookings_payment_does_not_count(session: AsyncSession) -> None:
    await add_booking(session, booking(50_00), "deposit_paid")
    unpaid = await add_booking(session, booking(50_00))
    said = await settle(session, unpaid, None, now=START - 2 * DAY)
    assert said == {"refund_cents": 0, "refund_rule": "no_deposit_paid"}
    assert await refunds(session) == []


async def test_a_late_cancellation_keeps_the_deposit_and_queues_nothing(
    session: AsyncSession,
) -> None:
    b = await add_booking(session, booking(50_00), "deposit_paid")
    said = await settle(session, b, None, now=START - DAY + timedelta(seconds=1))
    assert said == {"refund_cents": 0, "refund_rule": "late_cancellation"}
    assert b.refund_cents == 0
    assert await refunds(session) == []


async def test_staff_keep_the_deposit(session: AsyncSession) -> None:
    b = await add_booking(session, booking(50_00), "deposit_paid")
    said = await settle(session, b, False, now=START - 3 * DAY)
    assert said == {"refund_cents": 0, "refund_rule": "staff_kept"}
    assert b.refund_cents == 0
    assert await refunds(session) == []


async def test_the_orgs_cutoff_replaces_the_default(session: AsyncSession) -> None:
    session.add(OrgSetting(org_id=ORG, key="bookings.cancel_cutoff_hours", value=48))
    b = await add_booking(session, booking(50_00), "deposit_paid")
    said = await settle(session, b, None, now=START - 2 * DAY + timedelta(seconds=1))
    assert said == {"refund_cents": 0, "refund_rule": "late_cancellation"}
    in_time = await add_booking(session, booking(40_00), "deposit_paid")
    said = await settle(session, in_time, None, now=START - 2 * DAY)
    assert said == {"refund_cents": 40_00, "refund_rule": "before_cutoff"}
