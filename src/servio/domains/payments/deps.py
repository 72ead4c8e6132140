"""Dependencies of routes that take payments: the deployment's gateway (``Gateway``;
``None`` when no provider is configured and staff record deposits themselves) and the
bookings side of a deposit (``Holder``, which the bookings flows implement)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.payments.gateway import PaymentGateway
from servio.domains.payments.holder import DepositHolder
from servio.platform.http.services import provided


class PaymentsServices(Protocol):
    @property
    def gateway(self) -> PaymentGateway | None: ...
    @property
    def deposit_holder(self) -> DepositHolder: ...


def gateway(request: Request) -> PaymentGateway | None:
    return cast(PaymentsServices, provided(request)).gateway


Gateway = Annotated[PaymentGateway | None, Depends(gateway)]


def holder(request: Request) -> DepositHolder:
    return cast(PaymentsServices, provided(request)).deposit_holder


Holder = Annotated[DepositHolder, Depends(holder)]
