"""Dependencies of routes that take payments: the deployment's gateway (``Gateway``;
``None`` when no provider is configured and staff record deposits themselves)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.payments.gateway import PaymentGateway
from servio.platform.http.services import provided


class PaymentsServices(Protocol):
    @property
    def gateway(self) -> PaymentGateway | None: ...


def gateway(request: Request) -> PaymentGateway | None:
    return cast(PaymentsServices, provided(request)).gateway


Gateway = Annotated[PaymentGateway | None, Depends(gateway)]
