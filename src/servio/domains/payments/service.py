"""Deposits: a checkout with the provider per booking, the provider's events applied
once each to their payment, in any order, and refunds queued for the provider.

What a payment means for its booking is the bookings flows' business
(``bookings.flows.apply_provider_event``): payments never import bookings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.payments.gateway import Checkout
from servio.domains.payments.gateway import GatewayRefused as GatewayRefused
from servio.domains.payments.gateway import GatewayUnavailable as GatewayUnavailable
from servio.domains.payments.gateway import PaymentGateway as PaymentGateway
from servio.domains.payments.holder import DepositHolder as DepositHolder
from servio.domains.payments.models import LedgerEntry
from servio.domains.payments.models import Payment as Payment  # re-exported for other domains
from servio.domains.payments.models import PaymentStatus as PaymentStatus
from servio.platform import outbox
from servio.platform.db import utcnow
from servio.platform.db.conflicts import conflict_insert
from servio.platform.db.scoped import owned


async def pending_deposit(
    s: AsyncSession, *, org_id: uuid.UUID, booking_id: uuid.UUID, amount_cents: int, currency: str
) -> Payment:
    """The booking's deposit as a pending payment with no checkout yet: written with the
    hold, in the same transaction, before the provider is asked for a checkout."""
    payment = Payment(
        org_id=org_id, booking_id=booking_id, amount_cents=amount_cents, currency=currency
    )
    s.add(payment)
    await s.flush()
    return payment


async def request_checkout(
    gateway: PaymentGateway,
    payment: Payment,
    *,
    email: str,
    public_url: str,
    return_path: str | None = None,
) -> Checkout:
    """Ask the provider for a Checkout Session for a pending deposit (a network call:
    never made inside a transaction). ``deposit:{booking_id}`` is its idempotency key,
    so asking again after a failure or a crash gets the same session. The checkout sends
    the customer back to ``return_path`` (``?payment=cancelled`` when they gave up) or,
    by default, to ``/booking/{id}/paid`` and ``/booking/{id}/cancelled``."""
    booking_id = payment.booking_id
    success = return_path or f"/booking/{booking_id}/paid"
    cancel = f"/booking/{booking_id}/cancelled"
    if return_path:
        cancel = f"{return_path}?payment=cancelled"
    return await gateway.create_checkout(
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        description="Booking deposit",
        success_url=f"{public_url}{success}",
        cancel_url=f"{public_url}{cancel}",
        idempotency_key=f"deposit:{booking_id}",
        metadata={"org_id": str(payment.org_id), "booking_id": str(booking_id)},
        customer_email=email,
        reference=str(booking_id),
    )


async def record_checkout(
    s: AsyncSession, payment_id: uuid.UUID, checkout: Checkout
) -> Payment | None:
    """Keep the provider's checkout on its pending payment (once: a concurrent retry got
    the same session through the idempotency key). None when the payment is gone."""
    payment = await _payment(s, id=payment_id)
    if payment is not None and payment.checkout_session_id is None:
        payment.checkout_session_id, payment.checkout_url = checkout.session_id, checkout.url
        payment.updated_at = utcnow()
        await s.flush()
    return payment


async def _payment(s: AsyncSession, **where: Any) -> Payment | None:
    stmt = select(Payment).with_for_update()
    for column, value in where.items():
        stmt = stmt.where(getattr(Payment, column) == value)
    return await s.scalar(stmt)


async def _ledger(s: AsyncSession, p: Payment, kind: str, amount: int, ref: str) -> None:
    await s.execute(
        conflict_insert(s, LedgerEntry)
        .values(
            id=uuid.uuid4(),
            org_id=p.org_id,
            payment_id=p.id,
            kind=kind,
            amount_cents=amount,
            currency=p.currency,
            provider_ref=ref,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["provider_ref"])
    )


# What ``apply_event`` reports when the payment's booking has to follow: the deposit
# was paid, or its checkout expired or failed without a payment.
DEPOSIT_PAID = "deposit-paid"
DEPOSIT_LAPSED = "deposit-lapsed"
# Outbox message: return a booking's deposit through the provider (``tasks.Refunds``).
# Payload: booking_id, amount_cents. Once per booking (its dedupe key).
REFUND = "payments.refund"


@dataclass(frozen=True)
class Applied:
    """What one provider event did: ``outcome`` and, when its booking has to follow
    (``DEPOSIT_PAID`` or ``DEPOSIT_LAPSED``), the payment."""

    outcome: str
    payment: Payment | None = None


async def queue_refund(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, amount_cents: int
) -> None:
    """Queue the refund of a booking's deposit for the provider (once per booking)."""
    await outbox.add(
        s,
        kind=REFUND,
        payload={"booking_id": str(booking_id), "amount_cents": amount_cents},
        dedupe_key=f"{REFUND}:{booking_id}",
        org_id=org_id,
    )


async def refund_unbooked(s: AsyncSession, p: Payment) -> None:
    """The deposit was paid for a time that is gone: mark it and give it back."""
    p.needs_refund = True
    await queue_refund(s, p.org_id, p.booking_id, p.amount_cents)


async def _session_event(s: AsyncSession, kind: str, obj: dict[str, Any]) -> Applied:
    p = await _payment(s, checkout_session_id=obj.get("id"))
    if p is None:
        return Applied("unknown-session")
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") not in ("paid", "no_payment_required"):
            return Applied("awaiting-payment")
        if p.status == PaymentStatus.PAID:
            return Applied("duplicate")
        p.status, p.payment_intent_id = PaymentStatus.PAID, obj.get("payment_intent")
        p.updated_at = utcnow()
        await _ledger(s, p, "charge", p.amount_cents, f"charge:{obj.get('id')}")
        return Applied(DEPOSIT_PAID, p)
    if p.status != PaymentStatus.PENDING:
        return Applied("ignored")  # a late expiry never undoes a payment
    lapsed = PaymentStatus.EXPIRED if kind.endswith("expired") else PaymentStatus.FAILED
    p.status, p.updated_at = lapsed, utcnow()
    return Applied(DEPOSIT_LAPSED, p)


async def _charge_event(s: AsyncSession, kind: str, obj: dict[str, Any]) -> str:
    intent = obj.get("payment_intent")
    p = await _payment(s, payment_intent_id=intent)
    if p is None:
        return "unknown-payment"
    if kind == "charge.refunded":
        refunded = int(obj.get("amount_refunded", 0))
        await _ledger(s, p, "refund", refunded, f"refund:{obj.get('id')}:{refunded}")
        p.refunded_cents = max(p.refunded_cents, refunded)
        p.status = PaymentStatus.REFUNDED if p.refunded_cents >= p.amount_cents else p.status
        return "refund-recorded"
    await _ledger(s, p, "dispute", int(obj.get("amount", 0)), f"dispute:{obj.get('id')}")
    p.disputed = True
    return "dispute-recorded"


HANDLED = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.expired",
    "checkout.session.async_payment_failed",
    "charge.refunded",
    "charge.dispute.created",
)


async def apply_event(s: AsyncSession, event: dict[str, Any]) -> Applied:
    """Apply one verified provider event to its payment; returns what it did."""
    kind = str(event.get("type", ""))
    obj = event.get("data", {}).get("object", {})
    if kind.startswith("checkout.session.") and kind in HANDLED:
        return await _session_event(s, kind, obj)
    if kind in ("charge.refunded", "charge.dispute.created"):
        return Applied(await _charge_event(s, kind, obj))
    return Applied("ignored")


async def deposit_of(s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID) -> Payment | None:
    """The booking's deposit payment with the provider, if one was started."""
    return await s.scalar(
        owned(Payment, org_id)
        .where(Payment.booking_id == booking_id)
        .order_by(Payment.created_at.desc())
        .limit(1)
    )


async def unopened_deposit(s: AsyncSession, booking_id: uuid.UUID) -> Payment | None:
    """The booking's latest deposit when it is pending with no checkout yet (the
    provider failed when it was booked); None otherwise."""
    p = await s.scalar(
        select(Payment)
        .where(Payment.booking_id == booking_id)
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    if p is None or p.status != PaymentStatus.PENDING or p.checkout_url:
        return None
    return p


async def any_deposit(s: AsyncSession, booking_id: uuid.UUID) -> Payment | None:
    """A deposit payment of the booking, whichever org it is in (system scope: the
    checkout's return pages know only the booking)."""
    found: Payment | None = await s.scalar(
        select(Payment).where(Payment.booking_id == booking_id).limit(1)
    )
    return found


async def booking_payments(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID
) -> list[Payment]:
    """The booking's payments (its deposit checkouts), oldest first."""
    rows = await s.scalars(
        owned(Payment, org_id)
        .where(Payment.booking_id == booking_id)
        .order_by(Payment.created_at, Payment.id)
    )
    return list(rows)
