"""What payments need from a provider; integrations implement it (Stripe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from servio.platform.errors import DomainError


class GatewayUnavailable(DomainError):
    status = 502
    type = "payment-provider-unavailable"
    title = "The payment provider could not be reached"
    description = "Nothing was booked; try again in a moment."


class InvalidSignature(DomainError):
    status = 400
    type = "invalid-signature"
    title = "The webhook signature is not valid"


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str


class PaymentGateway(Protocol):
    async def create_checkout(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        metadata: dict[str, str],
        customer_email: str,
        reference: str,
    ) -> Checkout:
        """``reference`` is ours (the booking id), carried as client_reference_id."""
        ...

    async def refund(
        self, *, payment_intent_id: str, amount_cents: int, idempotency_key: str
    ) -> str:
        """Return ``amount_cents`` of a payment; the provider's refund id."""
        ...

    def parse_event(self, payload: bytes, signature: str | None) -> dict[str, Any]: ...
