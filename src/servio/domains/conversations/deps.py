"""Dependencies of the conversation routes: how this deployment opens a deposit
checkout (``Checkout``)."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request

from servio.domains.conversations.deposits import Checkout
from servio.platform.http.services import provided


class ConversationServices(Protocol):
    @property
    def checkout(self) -> Checkout: ...


def checkout(request: Request) -> Checkout:
    return cast(ConversationServices, provided(request)).checkout


DepositCheckout = Annotated[Checkout, Depends(checkout)]
