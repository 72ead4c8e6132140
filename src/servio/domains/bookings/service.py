"""Bookings: a request takes a hold on a free slot (or a booking when no deposit is
due), staff confirm, cancel, reschedule, complete; every change lands on the timeline
and honours the row's version (If-Match)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import cancellation, emails
from servio.domains.bookings.deposit import BookingFacts, DepositDecision, decide
from servio.domains.bookings.invites import Method, invitation
from servio.domains.bookings.models import Booking as Booking  # re-exported for other domains
from servio.domains.bookings.models import BookingEvent
from servio.domains.bookings.models import BookingStatus as BookingStatus
from servio.domains.bookings.moves import MOVES as MOVES
from servio.domains.bookings.moves import RESULT, check
from servio.domains.bookings.moves import IllegalBookingMove as IllegalBookingMove
from servio.domains.bookings.moves import StaleVersion as StaleVersion
from servio.domains.bookings.moves import move as _move
from servio.domains.catalog import service as catalog
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.scheduling import service as scheduling
from servio.platform import outbox
from servio.platform.db import utcnow
from servio.platform.db.scoped import get_owned, in_org, owned
from servio.platform.email import Attachment
from servio.platform.errors import DomainError, NotFound

# Queued for a booking staff confirm after its deposit (``staff_confirms``): whoever
# opened it (a conversation) follows along. Payload: booking_id.
DEPOSIT_PAID = "booking.deposit_paid"
CONFIRMED = "booking.confirmed"
# The provider's checkout for such a booking expired or its payment failed, with no
# deposit taken. Payload: booking_id, reason ("expired" or "failed").
DEPOSIT_LAPSED = "booking.deposit_lapsed"


class BookingNotFound(NotFound):
    type = "booking-not-found"
    title = "No such booking"


class MissingDuration(DomainError):
    status = 422
    type = "missing-duration"
    title = "Say how long the job takes"
    description = "Send the job's `inputs` (the server prices and times it) or `duration_minutes`."


class StartInPast(DomainError):
    status = 422
    type = "start-in-past"
    title = "That start time has already passed"


class FieldNotForThisMove(DomainError):
    status = 422
    type = "field-not-for-this-move"
    title = "That field belongs to another booking move"
    description = "actual_minutes goes with complete, refund_deposit with cancel."


class CustomQuoteRequired(DomainError):
    status = 422
    type = "custom-quote-required"
    title = "This job needs a custom quote"


@dataclass(frozen=True)
class BookingRequest:
    name: str
    email: str | None  # None: a contact reached on another channel (no emails sent)
    phone: str | None
    start: datetime
    inputs: catalog.EstimateIn | None
    duration_minutes: int | None
    resource_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    risk: bool = False
    pay_online: bool = False  # a payment provider takes the deposit (the email links it)
    # A vertical's own deposit (a tattoo's by size) instead of the core deposit policy.
    deposit_cents: int | None = None
    staff_confirms: bool = False  # a paid deposit waits for staff to confirm
    notes: str | None = None  # the customer's words for the team, kept on the timeline


def readable(org_id: uuid.UUID) -> Select[Booking]:
    return owned(Booking, org_id)


async def record_event(s: AsyncSession, b: Booking, kind: str, actor: str, **detail: Any) -> None:
    """Add a line to the booking's timeline."""
    s.add(BookingEvent(org_id=b.org_id, booking_id=b.id, kind=kind, actor=actor, detail=detail))


async def _duration(
    s: AsyncSession, cat: catalog.Catalog, org_id: uuid.UUID, req: BookingRequest
) -> tuple[timedelta, catalog.EstimateOut | None]:
    if req.inputs is None:
        if not req.duration_minutes:
            raise MissingDuration("Send inputs or duration_minutes.", extra={"field": "inputs"})
        return timedelta(minutes=req.duration_minutes), None
    estimate = await catalog.price_inputs(s, cat, org_id, req.inputs)
    if estimate.needs_custom_quote:
        raise CustomQuoteRequired(str(estimate.reason))
    return timedelta(hours=estimate.time_on_site_hours), estimate


async def _first_time(s: AsyncSession, org_id: uuid.UUID, email: str) -> bool:
    seen = await s.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            in_org(Booking, org_id),
            Booking.email == email,
            Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED)),
        )
    )
    return not seen


async def _pick_resource(
    s: AsyncSession,
    org_id: uuid.UUID,
    req: BookingRequest,
    duration: timedelta,
    tz: ZoneInfo,
    now: datetime,
) -> uuid.UUID:
    if req.resource_id is not None:
        return req.resource_id
    day = req.start.astimezone(tz).date()
    free = await scheduling.find_slots(s, org_id, first_day=day, days=1, duration=duration, now=now)
    match = [x for x in free if x.start == req.start.astimezone(UTC)]
    if not match:
        near = sorted(free, key=lambda x: abs(x.start - req.start))[:5]
        raise scheduling.SlotTaken(
            "That start is not free.",
            extra={
                "alternatives": [
                    {"start": x.start.isoformat(), "resource_id": str(x.resource_id)} for x in near
                ]
            },
        )
    return match[0].resource_id


async def create(
    s: AsyncSession,
    cat: catalog.Catalog,
    org_id: uuid.UUID,
    req: BookingRequest,
    *,
    now: datetime | None = None,
) -> Booking:
    """A PENDING booking holding its slot; a deposit-bound hold expires unpaid."""
    now = now or utcnow()
    if req.start <= now:
        raise StartInPast(f"{req.start.isoformat()} has already passed.", extra={"field": "start"})
    org = await identity.get_org(s, org_id)
    settings = await identity.settings_of(s, org_id)
    region = settings.phone_region or intake.REGION_BY_CURRENCY.get(org.currency)
    contact = intake.normalize_contact(req.name, req.email, req.phone, region)
    if req.lead_id is not None:
        await intake.get_lead(s, org_id, req.lead_id)
    duration, estimate = await _duration(s, cat, org_id, req)
    tz = ZoneInfo(org.timezone)
    resource_id = await _pick_resource(s, org_id, req, duration, tz, now)
    if req.deposit_cents is not None:
        decision = DepositDecision(True, req.deposit_cents, ("vertical_policy",))
    else:
        decision = decide(
            await catalog.deposit_policy(s, cat, org_id),
            BookingFacts(
                subtotal_cents=estimate.subtotal_cents if estimate else None,
                cleaning_type=req.inputs.cleaning_type if req.inputs else None,
                local_start=req.start.astimezone(tz),
                now=now.astimezone(tz),
                first_time_client=await _first_time(s, org_id, contact.email),
                risk=req.risk,
            ),
        )
    hold_until = now + timedelta(minutes=settings.hold_minutes) if decision.required else None
    booking_id = uuid.uuid4()
    reservation = await scheduling.reserve(
        s,
        org_id,
        resource_id=resource_id,
        start=req.start,
        duration=duration,
        kind="hold" if decision.required else "booking",
        ref_id=booking_id,
        expires_at=hold_until,
        now=now,
    )
    booking = Booking(
        id=booking_id,
        org_id=org_id,
        lead_id=req.lead_id,
        resource_id=resource_id,
        reservation_id=reservation.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        starts_at=req.start.astimezone(UTC),
        ends_at=req.start.astimezone(UTC) + duration,
        inputs=req.inputs.model_dump(mode="json") if req.inputs else {},
        estimate=estimate.model_dump() if estimate else None,
        subtotal_cents=estimate.subtotal_cents if estimate else None,
        currency=org.currency,
        deposit_required=decision.required,
        deposit_cents=decision.amount_cents,
        deposit_reasons=list(decision.reasons),
        hold_expires_at=hold_until,
        staff_confirms=req.staff_confirms,
    )
    s.add(booking)
    await s.flush()
    notes = {"notes": req.notes} if req.notes else {}
    await record_event(
        s, booking, "created", "customer", deposit_reasons=list(decision.reasons), **notes
    )
    online = decision.required and req.pay_online
    await emails.send(
        s, booking, "pending", pay_path=f"/booking/{booking.id}/pay" if online else ""
    )
    return booking


async def calendar_file(s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID) -> Attachment:
    """The booking as an ``.ics`` event the customer adds to a calendar: the same event
    (UID, sequence) as the invitations the emails carry."""
    b = await get(s, org_id, booking_id)
    org = await identity.get_org(s, org_id)
    withdrawn = b.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
    return invitation(
        b,
        business=org.name,
        location=await emails.location(s, b),
        method="CANCEL" if withdrawn else "REQUEST",
    )


async def get(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, *, lock: bool = False
) -> Booking:
    missing = BookingNotFound("No such booking in this business.")
    return await get_owned(s, Booking, booking_id, org_id, missing=missing, lock=lock)


async def _reservation_active(
    s: AsyncSession, b: Booking, active: bool, kind: str | None = None
) -> None:
    await scheduling.set_reservation(s, b.reservation_id, active=active, kind=kind)


async def apply(
    s: AsyncSession,
    org_id: uuid.UUID,
    booking_id: uuid.UUID,
    move: str,
    *,
    actor: str,
    if_match: int | None = None,
    reason: str | None = None,
    actual_minutes: int | None = None,
    refund_deposit: bool | None = None,
) -> Booking:
    """Confirm, cancel, complete (with the minutes the job took, when known) or mark a
    no-show."""
    if actual_minutes is not None and move != "complete":
        raise FieldNotForThisMove(
            "actual_minutes is reported when completing a booking.",
            extra={"field": "actual_minutes"},
        )
    if refund_deposit is not None and move != "cancel":
        raise FieldNotForThisMove(
            "refund_deposit is decided when cancelling a booking.",
            extra={"field": "refund_deposit"},
        )
    b = await get(s, org_id, booking_id, lock=True)
    check(b, move, if_match)
    old = b.status
    _move(b, RESULT[move], utcnow())
    if move == "confirm":
        b.hold_expires_at = None
        await _reservation_active(s, b, True, kind="booking")
        if b.lead_id is not None:
            await intake.grant_referral_credit(s, org_id, b.lead_id)
    elif move == "cancel":
        b.cancel_reason = reason
        await _reservation_active(s, b, False)
    elif move == "complete":
        b.actual_minutes = actual_minutes
    detail: dict[str, Any] = {"actual_minutes": actual_minutes} if actual_minutes else {}
    if move == "cancel":
        detail |= await cancellation.settle(s, b, refund_deposit, now=utcnow())
    await record_event(s, b, move, actor, old=old, new=b.status, reason=reason, **detail)
    if move == "confirm":
        await emails.send(s, b, "confirmed", invite="REQUEST")
        await _announce(s, b, CONFIRMED)
    elif move == "cancel":
        # Only a confirmed booking was sent an invitation that now has to be withdrawn.
        withdraw: Method | None = "CANCEL" if old == BookingStatus.CONFIRMED else None
        await emails.send(s, b, "cancelled", invite=withdraw, reason=reason or "")
    await s.flush()
    return b


async def reschedule(
    s: AsyncSession,
    org_id: uuid.UUID,
    booking_id: uuid.UUID,
    start: datetime,
    *,
    actor: str,
    if_match: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a booking atomically: the new time is taken before the old one is freed,
    in one transaction, under the same no-double-booking guarantee."""
    b = await get(s, org_id, booking_id, lock=True)
    check(b, "reschedule", if_match)
    duration = b.ends_at - b.starts_at
    await _reservation_active(s, b, False)
    fresh = await scheduling.reserve(
        s,
        org_id,
        resource_id=b.resource_id,
        start=start,
        duration=duration,
        kind="hold" if b.hold_expires_at else "booking",
        ref_id=b.id,
        expires_at=b.hold_expires_at,
        now=now,
    )
    old = b.starts_at
    b.reservation_id, b.starts_at, b.ends_at = (
        fresh.id,
        start.astimezone(UTC),
        start.astimezone(UTC) + duration,
    )
    _move(b, BookingStatus(b.status), utcnow())
    await record_event(s, b, "rescheduled", actor, old=old.isoformat(), new=b.starts_at.isoformat())
    tz = ZoneInfo((await identity.get_org(s, org_id)).timezone)
    await emails.send(
        s,
        b,
        "rescheduled",
        invite="REQUEST" if b.status == BookingStatus.CONFIRMED else None,
        previous=old.astimezone(tz).strftime("%A %d %B %Y at %H:%M"),
    )
    await s.flush()
    return b


async def expire_holds(s: AsyncSession, org_id: uuid.UUID, now: datetime | None = None) -> int:
    """Unpaid holds past their time are released; returns how many."""
    now = now or utcnow()
    stale = list(
        await s.scalars(
            readable(org_id)
            .where(
                Booking.status == BookingStatus.PENDING,
                Booking.hold_expires_at.is_not(None),
                Booking.hold_expires_at <= now,
            )
            .with_for_update()
        )
    )
    for b in stale:
        _move(b, BookingStatus.EXPIRED, now)
        await _reservation_active(s, b, False)
        await record_event(s, b, "expired", "system")
    await s.flush()
    return len(stale)


async def orgs_with_expired_holds(s: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Orgs with an unpaid hold past its time (a query across orgs: system scope)."""
    rows = await s.scalars(
        select(Booking.org_id)
        .where(
            Booking.status == BookingStatus.PENDING,
            Booking.hold_expires_at.is_not(None),
            Booking.hold_expires_at <= now,
        )
        .distinct()
    )
    return list(rows)


async def timeline(s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID) -> list[BookingEvent]:
    await get(s, org_id, booking_id)
    rows = await s.scalars(
        owned(BookingEvent, org_id)
        .where(BookingEvent.booking_id == booking_id)
        .order_by(BookingEvent.created_at, BookingEvent.id)
    )
    return list(rows)


async def deposit_paid(
    s: AsyncSession,
    org_id: uuid.UUID,
    booking_id: uuid.UUID,
    *,
    now: datetime | None = None,
    event: str = "deposit_paid",
    actor: str = "provider",
) -> str:
    """The deposit arrived: confirm the booking. A hold that lapsed meanwhile is taken
    again when its time is still free ("rebooked"), else the payment must be refunded
    ("needs_refund"). A booking already past PENDING is left as it is. Staff who took
    the deposit by hand record it as ``deposit_marked_paid`` under their own name."""
    now = now or utcnow()
    b = await get(s, org_id, booking_id, lock=True)
    if b.status in (
        BookingStatus.CONFIRMED,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    ) or _paid_awaiting_staff(b):
        return "already"
    if b.status == BookingStatus.CANCELLED:
        return "needs_refund"
    if b.status == BookingStatus.EXPIRED or (
        b.hold_expires_at is not None and b.hold_expires_at <= now
    ):
        await _reservation_active(s, b, False)
        try:
            fresh = await scheduling.reserve(
                s,
                org_id,
                resource_id=b.resource_id,
                start=b.starts_at,
                duration=b.ends_at - b.starts_at,
                kind="booking",
                ref_id=b.id,
                now=now - timedelta(days=3650),
            )
        except scheduling.SlotTaken:
            _move(b, BookingStatus.EXPIRED, now)
            await record_event(s, b, "payment_after_expiry", actor, outcome="needs_refund")
            return "needs_refund"
        b.reservation_id = fresh.id
        outcome = "rebooked"
    else:
        await _reservation_active(s, b, True, kind="booking")
        outcome = "confirmed"
    b.hold_expires_at = None
    _move(b, BookingStatus.PENDING if b.staff_confirms else BookingStatus.CONFIRMED, now)
    await record_event(s, b, event, actor, outcome=outcome)
    if b.staff_confirms:  # the slot is kept; staff confirm it (apply "confirm")
        await _announce(s, b, DEPOSIT_PAID)
        return "awaiting_confirmation"
    await emails.send(s, b, "confirmed", invite="REQUEST")
    if b.lead_id is not None:
        await intake.grant_referral_credit(s, org_id, b.lead_id)
    return outcome


def _paid_awaiting_staff(b: Booking) -> bool:
    """A staff-confirmed booking whose deposit came in: PENDING with its hold lifted."""
    return b.staff_confirms and b.status == BookingStatus.PENDING and b.hold_expires_at is None


async def _announce(s: AsyncSession, b: Booking, kind: str) -> None:
    if b.staff_confirms:
        await outbox.add(
            s,
            kind=kind,
            payload={"booking_id": str(b.id)},
            dedupe_key=f"{kind}:{b.id}",
            org_id=b.org_id,
        )


async def deposit_marked_paid(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, *, actor: str
) -> str:
    """Staff took the deposit by hand: a PENDING booking is confirmed (as when the
    provider reports the payment) with a ``deposit_marked_paid`` timeline event."""
    b = await get(s, org_id, booking_id, lock=True)
    if b.status != BookingStatus.PENDING:
        raise IllegalBookingMove(
            f"A {b.status} booking has no deposit to mark paid.", extra={"status": b.status}
        )
    return await deposit_paid(s, org_id, booking_id, event="deposit_marked_paid", actor=actor)


async def deposit_lapsed(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, reason: str = "expired"
) -> str:
    """The checkout expired or failed (``reason``): release a still-pending hold; never
    go backwards. A staff-confirmed booking left without its deposit (its hold released
    now or earlier) is announced as ``booking.deposit_lapsed`` for whoever opened it."""
    b = await get(s, org_id, booking_id, lock=True)
    unpaid = b.status == BookingStatus.EXPIRED or (
        b.status == BookingStatus.PENDING and not _paid_awaiting_staff(b)
    )
    if b.staff_confirms and unpaid:
        await outbox.add(
            s,
            kind=DEPOSIT_LAPSED,
            payload={"booking_id": str(b.id), "reason": reason},
            dedupe_key=f"{DEPOSIT_LAPSED}:{b.id}",
            org_id=b.org_id,
        )
    if b.status != BookingStatus.PENDING or _paid_awaiting_staff(b):
        return "ignored"
    _move(b, BookingStatus.EXPIRED, utcnow())
    await _reservation_active(s, b, False)
    await record_event(s, b, "deposit_lapsed", "provider")
    return "released"
