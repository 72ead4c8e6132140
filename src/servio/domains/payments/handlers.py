"""Outbox handler ``payments.refund``: return a booking's deposit through the payment
provider, once (the message's dedupe key is the provider's idempotency key). The
provider's ``charge.refunded`` event then writes the ledger, as for any refund."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from servio.domains.payments import service
from servio.domains.payments.gateway import PaymentGateway
from servio.domains.payments.models import Payment
from servio.platform.db import Database
from servio.platform.db.scoped import owned
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure, Skipped

REFUND = service.REFUND


@dataclass(frozen=True)
class Refunds:
    db: Database
    gateway: PaymentGateway | None

    async def refund(self, delivery: Delivery) -> None:
        try:
            booking_id = uuid.UUID(delivery.payload["booking_id"])
            amount = int(delivery.payload["amount_cents"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"malformed {REFUND} payload: {exc}") from exc
        if delivery.org_id is None or amount <= 0:
            raise PermanentFailure(f"a {REFUND} message needs an org and a positive amount")
        async with self.db.unit_of_work(delivery.org_id) as s:
            paid = await s.scalar(
                owned(Payment, delivery.org_id).where(
                    Payment.booking_id == booking_id,
                    Payment.payment_intent_id.is_not(None),
                )
            )
            intent = paid.payment_intent_id if paid is not None else None
        if intent is None:
            raise Skipped("no deposit was paid through the provider; refund it by hand")
        if self.gateway is None:
            raise PermanentFailure("no payment provider is configured to refund through")
        # A provider failure raises: the outbox retries with backoff behind its circuit.
        await self.gateway.refund(
            payment_intent_id=intent, amount_cents=amount, idempotency_key=delivery.dedupe_key
        )


def register_handlers(
    registry: OutboxRegistry, db: Database, gateway: PaymentGateway | None
) -> None:
    registry.register(REFUND, Refunds(db, gateway).refund, provider="stripe", timeout_seconds=30)
