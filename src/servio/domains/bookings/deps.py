"""Dependencies of booking routes: how this deployment takes a booking's deposit
(``DepositFlow``: the payment gateway and the public URL checkouts return to)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.bookings.flows import Deposits
from servio.platform.http.services import provided


class BookingServices(Protocol):
    @property
    def deposits(self) -> Deposits: ...


def deposits(request: Request) -> Deposits:
    return cast(BookingServices, provided(request)).deposits


DepositFlow = Annotated[Deposits, Depends(deposits)]
