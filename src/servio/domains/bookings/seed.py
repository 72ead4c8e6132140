"""A month of demo history for the cleaning company: leads from the past 30 days, the
bookings they became (completed, cancelled, a no-show) and the next two weeks'
confirmed and pending jobs, so slots, lists and metrics show real data.

Deterministic (a fixed random seed) and idempotent (a business with bookings is left
alone). Nothing is emailed: the rows are written as history, not as new requests.

Whatever day the demo is seeded, every working day keeps known free time: the last team's
afternoons (from ``FREE_FROM`` to closing) are never booked, so a customer, a test or a
dispatcher always finds a start there.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings.deposit import BookingFacts, decide
from servio.domains.bookings.models import Booking, BookingEvent, BookingStatus
from servio.domains.catalog import service as catalog
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.scheduling import service as scheduling
from servio.platform.config import Settings
from servio.platform.db import utcnow

ORG = "sparkle-clean"
PAST_DAYS, FUTURE_DAYS = 30, 14
STARTS = (time(9), time(13, 30))  # two jobs a day per team fit with the travel buffer
FREE_FROM = time(13, 30)  # the last team's afternoons stay free (with its 30 min buffer)
BUFFER = timedelta(minutes=30)
SIZES = ((1, 1), (2, 1), (2, 2), (3, 2), (2, 1), (1, 1))
TYPES = ("standard", "standard", "standard", "deep", "move_out_empty")
FREQUENCIES = ("one_time", "one_time", "weekly", "biweekly", "monthly")
SOURCES = ("website", "google", "facebook", "referral", "website")
FIRST = ("Ava", "Liam", "Noah", "Emma", "Olivia", "Lucas", "Mia", "Ethan", "Zoe", "Omar")
OVERRUNS = (-30, -15, 0, 0, 15, 15, 30, 45)  # minutes a completed job ran over its estimate
LAST = ("Tremblay", "Singh", "Nguyen", "Martin", "Roy", "Wong", "Brown", "Garcia", "Lee")


@dataclass
class _Day:
    """What the seeder needs about the business while it writes one day."""

    org_id: uuid.UUID
    tz: ZoneInfo
    cat: catalog.Catalog
    policy: catalog.DepositPolicy
    rng: random.Random
    now: datetime
    free_team: uuid.UUID | None = None


def _inputs(rng: random.Random) -> catalog.EstimateIn:
    beds, baths = rng.choice(SIZES)
    add_ons = {"oven": 1} if rng.random() < 0.3 else {}
    if rng.random() < 0.2:
        add_ons["carpet_spot"] = rng.randint(1, 3)
    return catalog.EstimateIn(
        beds=beds,
        baths=Decimal(baths),
        cleaning_type=rng.choice(TYPES),
        frequency=rng.choice(FREQUENCIES),
        add_ons=add_ons,
    )


async def _lead(s: AsyncSession, d: _Day, n: int, created: datetime, status: str) -> intake.Lead:
    first, last = d.rng.choice(FIRST), d.rng.choice(LAST)
    contact = intake.Contact(
        name=f"{first} {last}",
        email=f"{first}.{last}.{n}@example.com".lower(),
        phone=f"+1780555{1000 + n:04d}",
    )
    inputs = _inputs(d.rng)
    estimate = (await catalog.price_inputs(s, d.cat, d.org_id, inputs)).model_dump()
    source = d.rng.choice(SOURCES)
    lead = await intake.create_lead(
        s,
        d.org_id,
        contact=contact,
        currency="CAD",
        fields={
            "inputs": inputs.model_dump(mode="json"),
            "source": source,
            "utm": {"utm_source": source} if source != "website" else {},
            "consent": True,
            "status": status,
        },
        estimate=estimate,
        referred_by=None,
    )
    lead.created_at = lead.updated_at = created
    return lead


def _status(rng: random.Random, start: datetime, now: datetime) -> str:
    roll = rng.random()
    if start < now:
        return (
            BookingStatus.COMPLETED
            if roll < 0.8
            else BookingStatus.CANCELLED
            if roll < 0.95
            else BookingStatus.NO_SHOW
        )
    return BookingStatus.CONFIRMED if roll < 0.75 else BookingStatus.PENDING


async def _free_start(
    s: AsyncSession, d: _Day, resource_id: uuid.UUID, wanted: datetime, duration: timedelta
) -> datetime | None:
    """The first free start at or after ``wanted`` that day, if any."""
    free = await scheduling.find_slots(
        s,
        d.org_id,
        first_day=wanted.date(),
        days=1,
        duration=duration,
        resource_id=resource_id,
        now=wanted - timedelta(days=PAST_DAYS),
    )
    return next((x.local_start for x in free if x.start >= wanted), None)


async def _booking(
    s: AsyncSession, d: _Day, lead: intake.Lead, resource_id: uuid.UUID, wanted: datetime
) -> Booking | None:
    estimate = lead.estimate or {}
    duration = timedelta(hours=float(estimate["time_on_site_hours"]))
    start = await _free_start(s, d, resource_id, wanted, duration)
    if start is not None and resource_id == d.free_team:
        keep_free = datetime.combine(start.date(), FREE_FROM, tzinfo=d.tz)
        start = start if start + duration + BUFFER <= keep_free else None
    if start is None:
        lead.status = intake.LeadStatus.QUOTED
        return None
    status = _status(d.rng, start, d.now)
    created = lead.created_at + timedelta(hours=d.rng.randint(1, 30))
    decision = decide(
        d.policy,
        BookingFacts(
            subtotal_cents=estimate["subtotal_cents"],
            cleaning_type=lead.inputs.get("cleaning_type"),
            local_start=start.astimezone(d.tz),
            now=created.astimezone(d.tz),
            first_time_client=True,
        ),
    )
    booking_id = uuid.uuid4()
    reservation = await scheduling.reserve(
        s,
        d.org_id,
        resource_id=resource_id,
        start=start,
        duration=duration,
        kind="booking",
        ref_id=booking_id,
        now=start - timedelta(days=PAST_DAYS),
    )
    if status == BookingStatus.CANCELLED:
        await scheduling.set_reservation(s, reservation.id, active=False)
    b = Booking(
        id=booking_id,
        org_id=d.org_id,
        lead_id=lead.id,
        resource_id=resource_id,
        reservation_id=reservation.id,
        name=lead.name,
        email=lead.email,
        phone=lead.phone,
        starts_at=start.astimezone(UTC),
        ends_at=(start + duration).astimezone(UTC),
        status=status,
        inputs=lead.inputs,
        estimate=estimate,
        subtotal_cents=estimate["subtotal_cents"],
        currency="CAD",
        deposit_required=decision.required,
        deposit_cents=decision.amount_cents,
        deposit_reasons=list(decision.reasons),
        cancel_reason="Customer rescheduled elsewhere"
        if status == BookingStatus.CANCELLED
        else None,
        actual_minutes=int(duration.total_seconds() // 60) + d.rng.choice(OVERRUNS)
        if status == BookingStatus.COMPLETED
        else None,
        created_at=created,
        updated_at=created,
    )
    s.add(b)
    await s.flush()
    s.add(BookingEvent(org_id=d.org_id, booking_id=b.id, kind="created", actor="demo"))
    return b


async def _seed_day(
    s: AsyncSession, d: _Day, day: date, teams: list[uuid.UUID], counter: list[int]
) -> int:
    made = 0
    for team in teams:
        for at in STARTS:
            if d.rng.random() > 0.65 or (team == d.free_team and at >= FREE_FROM):
                continue
            start = datetime.combine(day, at, tzinfo=d.tz)
            counter[0] += 1
            created = min(start, d.now) - timedelta(days=d.rng.randint(2, 9))
            lead = await _lead(s, d, counter[0], created, "BOOKED")
            made += await _booking(s, d, lead, team, start) is not None
    for _ in range(d.rng.randint(0, 2)):  # leads that did not book (yet)
        counter[0] += 1
        created = datetime.combine(day, time(d.rng.randint(8, 20)), tzinfo=d.tz)
        if created < d.now:
            status = d.rng.choice(("NEW", "CONTACTED", "QUOTED", "LOST", "LOST"))
            await _lead(s, d, counter[0], created, status)
    return made


async def seed_demo_bookings(s: AsyncSession, settings: Settings) -> dict[str, int]:
    org = await identity.get_org_by_slug(s, ORG)
    existing = await s.scalar(select(func.count()).select_from(Booking).filter_by(org_id=org.id))
    if existing:
        return {"bookings": int(existing)}
    cat = catalog.Catalog(settings.verticals_dir)
    tz = ZoneInfo(org.timezone)
    now = utcnow()
    policy = await catalog.deposit_policy(s, cat, org.id)
    rng = random.Random(2026)  # noqa: S311 - demo data, repeatable on purpose
    d = _Day(org.id, tz, cat, policy, rng, now)
    teams = [r.id for r in await scheduling.list_resources(s, org.id)]
    d.free_team = teams[-1] if teams else None
    today = now.astimezone(tz).date()
    counter, made = [0], 0
    for offset in range(-PAST_DAYS, FUTURE_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() < 6 and offset != 0:
            made += await _seed_day(s, d, day, teams, counter)
    await s.flush()
    return {"bookings": made, "leads": counter[0]}
