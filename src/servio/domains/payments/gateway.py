"""What payments need from a provider; integrations implement it (Stripe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from servio.platform.errors import DomainError

RETRY_AFTER_SECONDS = 30  # what a client is asked to wait after the provider failed


class GatewayUnavailable(DomainError):
    """The provider did not answer (connection error, timeout) or answered with a server
    error: worth retrying the same request later."""

    status = 503
    type = "payment-provider-unavailable"
    title = "The payment provider could not be reached"
    description = (
        "The time stays held for you while the hold lasts; send the same request again "
        "after Retry-After seconds to get the payment link."
    )

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("retry_after", RETRY_AFTER_SECONDS)
        super().__init__(detail, **kwargs)


class GatewayRefused(DomainError):
    """The provider answered and refused the request (a configuration or request error):
    retrying the same request does not help."""

    status = 502
    type = "payment-provider-refused"
    title = "The payment provider refused the request"
    description = "The booking could not be sent to the payment provider; contact the business."


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
