"""A booking with its deposit, the one way every channel takes it (``POST /v1/bookings``,
the booking page, a WhatsApp conversation), with no network call inside a transaction:

1. ``hold``, in the caller's unit of work: the booking holding its slot and, when a
   deposit is due and a provider takes it online, a pending payment with no checkout;
2. once that committed, ``open_checkout`` asks the provider for a checkout outside any
   transaction, with the idempotency key ``deposit:{booking_id}``;
3. and keeps the checkout's session and URL in a second short unit of work.

When the provider cannot be reached the booking stays a PENDING hold that expires by
itself (the hold expiry job), nothing half-written; sending the same booking again
while it holds resumes it, and the same key gets the checkout then.

And the way back: ``apply_provider_event`` applies a provider's event to its payment
(payments) and then to its booking (bookings, which keeps its slot through
scheduling); ``BookingDeposits`` is what the payments webhook and pages are handed
for that (payments never import bookings)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.bookings.models import Booking, BookingStatus
from servio.domains.catalog import service as catalog
from servio.domains.identity import service as identity
from servio.domains.payments import service as payments
from servio.platform.db import Database, utcnow


@dataclass(frozen=True)
class Deposits:
    """How this deployment takes deposits online (no gateway: it does not)."""

    gateway: payments.PaymentGateway | None
    public_url: str


@dataclass(frozen=True)
class Booked:
    booking: Booking
    checkout_url: str | None  # where the customer pays the deposit, when one is due


async def hold(
    s: AsyncSession,
    cat: catalog.Catalog,
    org_id: uuid.UUID,
    req: bookings.BookingRequest,
    gateway: payments.PaymentGateway | None,
) -> Booking:
    """Step 1, inside the caller's unit of work: the booking (a hold when a deposit is
    due) and, when the provider takes the deposit, its pending payment."""
    booking, _ = await _hold(s, cat, org_id, req, gateway)
    return booking


async def _hold(
    s: AsyncSession,
    cat: catalog.Catalog,
    org_id: uuid.UUID,
    req: bookings.BookingRequest,
    gateway: payments.PaymentGateway | None,
) -> tuple[Booking, payments.Payment | None]:
    booking = await bookings.create(s, cat, org_id, replace(req, pay_online=gateway is not None))
    if not (booking.deposit_required and gateway is not None):
        return booking, None
    payment = await payments.pending_deposit(
        s,
        org_id=org_id,
        booking_id=booking.id,
        amount_cents=booking.deposit_cents,
        currency=booking.currency,
    )
    return booking, payment


async def open_checkout(
    db: Database,
    org_id: uuid.UUID,
    booking_id: uuid.UUID,
    deposits: Deposits,
    *,
    return_path: str | None = None,
) -> str | None:
    """Steps 2 and 3 for a committed hold: the checkout URL of its pending deposit,
    asked of the provider when none is kept yet. None when no deposit is pending online.
    Raises ``GatewayUnavailable`` or ``GatewayRefused`` when the provider fails; nothing
    is written then."""
    if deposits.gateway is None:
        return None
    async with db.unit_of_work(org_id) as s:
        payment = await payments.deposit_of(s, org_id, booking_id)
        booking = await bookings.get(s, org_id, booking_id)
    return await _checkout(db, booking, payment, deposits, return_path)


async def _checkout(
    db: Database,
    booking: Booking,
    payment: payments.Payment | None,
    deposits: Deposits,
    return_path: str | None,
) -> str | None:
    if (
        deposits.gateway is None
        or payment is None
        or payment.status != payments.PaymentStatus.PENDING
    ):
        return None
    if booking.status != BookingStatus.PENDING or (
        booking.hold_expires_at is not None and booking.hold_expires_at <= utcnow()
    ):
        return None  # the hold is gone: nothing to pay for any more
    if payment.checkout_url:
        return payment.checkout_url
    checkout = await payments.request_checkout(
        deposits.gateway,
        payment,
        email=booking.email or "",
        public_url=deposits.public_url.rstrip("/"),
        return_path=return_path.replace("{booking_id}", str(booking.id)) if return_path else None,
    )
    async with db.unit_of_work(booking.org_id) as s:
        await payments.record_checkout(s, payment.id, checkout)
    return checkout.url


async def book(
    db: Database,
    cat: catalog.Catalog,
    org_id: uuid.UUID,
    req: bookings.BookingRequest,
    deposits: Deposits,
    *,
    return_path: str | None = None,
) -> Booked:
    """A booking and, when a deposit is due, its checkout URL. The hold commits before
    the provider is called; the same request sent again while its hold lasts (after the
    provider failed) resumes that booking rather than taking a second one.
    ``return_path`` is where the checkout sends the customer back (``{booking_id}`` is
    replaced by the booking's id)."""
    async with db.unit_of_work(org_id) as s:
        # Without a provider no checkout is ever left unopened: nothing to resume.
        resumed = await _unfinished(s, org_id, req) if deposits.gateway is not None else None
        if resumed is None:
            booking, payment = await _hold(s, cat, org_id, req, deposits.gateway)
        else:
            booking, payment = resumed
    if payment is None:
        return Booked(booking, None)
    return Booked(booking, await _checkout(db, booking, payment, deposits, return_path))


async def _unfinished(
    s: AsyncSession, org_id: uuid.UUID, req: bookings.BookingRequest
) -> tuple[Booking, payments.Payment] | None:
    """The still-held booking an earlier, identical request left when the provider
    failed: same contact email, start, resource, job; its deposit pending with no
    checkout."""
    if not req.email:
        return None
    found = await s.scalars(
        bookings.readable(org_id).where(
            Booking.status == BookingStatus.PENDING,
            Booking.hold_expires_at > utcnow(),
            func.lower(Booking.email) == req.email.strip().lower(),
            Booking.starts_at == req.start.astimezone(UTC),
        )
    )
    inputs = req.inputs.model_dump(mode="json") if req.inputs else {}
    for b in found:
        if req.resource_id is not None and b.resource_id != req.resource_id:
            continue
        if (b.inputs or {}) != inputs:
            continue
        if req.duration_minutes and b.ends_at - b.starts_at != timedelta(
            minutes=req.duration_minutes
        ):
            continue
        payment = await payments.deposit_of(s, org_id, b.id)
        if (
            payment is not None
            and payment.status == payments.PaymentStatus.PENDING
            and not payment.checkout_url
        ):
            return b, payment
    return None


async def apply_provider_event(s: AsyncSession, event: dict[str, Any]) -> str:
    """Apply one verified provider event: to its payment first, then, when the deposit
    was paid or lapsed, to its booking; a deposit paid for a time that is gone is
    given back. Returns what it did."""
    applied = await payments.apply_event(s, event)
    p = applied.payment
    if p is None:
        return applied.outcome
    if applied.outcome == payments.DEPOSIT_LAPSED:
        return await bookings.deposit_lapsed(s, p.org_id, p.booking_id, p.status)
    outcome = await bookings.deposit_paid(s, p.org_id, p.booking_id)
    if outcome == "needs_refund":
        await payments.refund_unbooked(s, p)
    return outcome


async def checkout_return(s: AsyncSession, booking_id: uuid.UUID) -> dict[str, str] | None:
    """What the customer sees back from the checkout: the booking's reference, status
    and time in the business's zone (no contact details). None when unknown."""
    p = await payments.any_deposit(s, booking_id)
    if p is None:
        return None
    b = await bookings.get(s, p.org_id, booking_id)
    org = await identity.get_org(s, p.org_id)
    return {
        "business": org.name,
        "reference": str(b.id)[:8].upper(),
        "status": b.status,
        "when": b.starts_at.astimezone(ZoneInfo(org.timezone)).strftime("%A %d %B %Y at %H:%M"),
        "payment": p.status,
        "checkout_url": (p.checkout_url or "")
        if p.status == payments.PaymentStatus.PENDING and b.status == bookings.BookingStatus.PENDING
        else "",
    }


async def open_unopened_checkout(
    db: Database, booking_id: uuid.UUID, deposits: Deposits
) -> str | None:
    """The checkout of a booking still PENDING whose deposit is pending with no checkout
    yet (the provider failed when it was booked), asked of the provider now. None when
    there is none to open."""
    async with db.unit_of_work(system=True) as s:
        p = await payments.unopened_deposit(s, booking_id)
        b = await bookings.get(s, p.org_id, booking_id) if p is not None else None
    if p is None or b is None or b.status != bookings.BookingStatus.PENDING:
        return None
    return await open_checkout(db, p.org_id, booking_id, deposits)


@dataclass(frozen=True)
class BookingDeposits:
    """The bookings side of a deposit, as the payments webhook and pages need it
    (``payments.holder.DepositHolder``), on a deployment taking deposits as
    ``deposits`` says."""

    deposits: Deposits

    async def apply_provider_event(self, s: AsyncSession, event: dict[str, Any]) -> str:
        return await apply_provider_event(s, event)

    async def checkout_return(
        self, s: AsyncSession, booking_id: uuid.UUID
    ) -> dict[str, str] | None:
        return await checkout_return(s, booking_id)

    async def open_unopened_checkout(self, db: Database, booking_id: uuid.UUID) -> str | None:
        return await open_unopened_checkout(db, booking_id, self.deposits)
