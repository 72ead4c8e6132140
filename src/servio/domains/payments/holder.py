"""What payments need of the booking a deposit is for: the provider's webhook and the
checkout's return pages reach it through this protocol, which the bookings flows
implement (``bookings.flows.BookingDeposits``), so payments never import bookings.
The composition root hands the implementation over (``deps.Holder``)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database


class DepositHolder(Protocol):
    async def apply_provider_event(self, s: AsyncSession, event: dict[str, Any]) -> str:
        """Apply one verified provider event to its payment and its booking."""
        ...

    async def checkout_return(
        self, s: AsyncSession, booking_id: uuid.UUID
    ) -> dict[str, str] | None:
        """What the customer sees back from the checkout; None when unknown."""
        ...

    async def open_unopened_checkout(self, db: Database, booking_id: uuid.UUID) -> str | None:
        """The checkout URL of a held booking whose checkout the provider could not open
        when it was booked, asked of the provider now; None when there is none to open."""
        ...
