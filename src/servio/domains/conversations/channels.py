"""The engine on WhatsApp: an inbound message (outbox kind ``conversation.inbound``,
queued by the messaging domain) runs through the conversation, and each action goes
back as a WhatsApp message: text, reply buttons, or a list for longer choices and
slot offers. STOP and START reach the contact's opt-out flag, which the sender honours.

Staff moves and the core's booking news (``booking.deposit_paid``,
``booking.confirmed``) reach a WhatsApp contact the same way through ``tell``; a lapsed
deposit checkout (``booking.deposit_lapsed``) is handled in ``lapses``. An image the
contact sends reaches the engine as ``media`` (references to the stored messages).

One contact's messages reach the engine one at a time in WhatsApp's timestamp order
(the outbox's ordering key is the contact's, see ``ordering``), and one older than the
last applied is logged without moving the conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from servio.domains.bookings import service as bookings
from servio.domains.catalog import service as catalog
from servio.domains.conversations import deposits, lapses, service
from servio.domains.conversations.actions import Action, DepositRequest
from servio.domains.conversations.outbound import DEPOSIT_LINK, actions_of, send, tell
from servio.domains.messaging import service as messaging
from servio.platform.db import Database
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure


@dataclass(frozen=True)
class WhatsAppConversations:
    db: Database
    prices: catalog.Catalog | None = None
    checkout: deposits.Checkout | None = None

    async def inbound(self, delivery: Delivery) -> None:
        p = delivery.payload
        try:
            org_id = uuid.UUID(str(p["org_id"]))
            contact, message_id = str(p["contact"]), str(p["message_id"])
            sent_at = datetime.fromisoformat(p["sent_at"]) if p.get("sent_at") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"malformed {messaging.CONVERSATION_INBOUND}: {exc}") from exc
        async with self.db.unit_of_work(org_id) as s:
            handled = await service.converse(
                s,
                org_id,
                str(p.get("channel") or messaging.WHATSAPP),
                contact,
                str(p.get("text") or ""),
                p.get("reply_id"),
                prices=self.prices,
                media=[str(ref) for ref in p.get("media") or []],
                checkout=self.checkout,
                sent_at=sent_at,
                message_ref=p.get("provider_message_id"),
            )
            actions = handled.actions
            if not _awaits_checkout(actions):
                await send(s, org_id, contact, actions, f"reply:{message_id}")
            opted_out = handled.conversation.opted_out
            known = await messaging.contact(s, org_id, messaging.WHATSAPP, contact)
            if known is None or known.opted_out != opted_out:
                await messaging.set_opted_out(s, org_id, messaging.WHATSAPP, contact, opted_out)
        if _awaits_checkout(actions):  # the provider is called with no transaction open
            actions = await deposits.with_checkout(self.db, org_id, actions, self.checkout)
            async with self.db.unit_of_work(org_id) as s:
                await send(s, org_id, contact, actions, f"reply:{message_id}")

    async def deposit_link(self, delivery: Delivery) -> None:
        """``conversation.deposit_link``: open the checkout of the deposit requests
        ``tell`` held back, then queue the messages with their link."""
        p = delivery.payload
        try:
            org_id = uuid.UUID(str(delivery.org_id))
            to, key, actions = str(p["to"]), str(p["key"]), actions_of(p["actions"])
        except (KeyError, ValueError) as exc:
            raise PermanentFailure(f"malformed {DEPOSIT_LINK}: {exc}") from exc
        actions = await deposits.with_checkout(self.db, org_id, actions, self.checkout)
        if p.get("send", True):
            async with self.db.unit_of_work(org_id) as s:
                await send(s, org_id, to, actions, key)


def _awaits_checkout(actions: list[Action]) -> bool:
    return any(isinstance(a, DepositRequest) and a.checkout_pending for a in actions)


@dataclass(frozen=True)
class BookingNews:
    db: Database

    async def __call__(self, delivery: Delivery) -> None:
        try:
            org_id = uuid.UUID(str(delivery.org_id))
            booking_id = uuid.UUID(str(delivery.payload["booking_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentFailure(f"malformed {delivery.kind}: {exc}") from exc
        async with self.db.unit_of_work(org_id) as s:
            handled = await service.booking_changed(s, org_id, booking_id, delivery.kind)
            if handled is not None:
                key = f"{delivery.kind}:{booking_id}"
                await tell(s, org_id, handled.conversation, handled.actions, key)


def register_handlers(
    registry: OutboxRegistry,
    db: Database,
    prices: catalog.Catalog | None = None,
    checkout: deposits.Checkout | None = None,
) -> None:
    conversations = WhatsAppConversations(db, prices, checkout)
    registry.register(messaging.CONVERSATION_INBOUND, conversations.inbound, timeout_seconds=60)
    registry.register(DEPOSIT_LINK, conversations.deposit_link, timeout_seconds=60)
    for kind in (bookings.DEPOSIT_PAID, bookings.CONFIRMED):
        registry.register(kind, BookingNews(db), timeout_seconds=60)
    if checkout is not None:
        lapsed = lapses.LapsedDeposits(db, checkout)
        registry.register(bookings.DEPOSIT_LAPSED, lapsed, timeout_seconds=60)
