"""The engine's actions as WhatsApp messages (text, reply buttons, or a list for longer
choices and slot offers), and ``tell``: sending actions to a conversation's contact
outside an inbound turn (staff decisions, the core's booking news, a lapsed deposit).

Sending goes through ``messaging.send``, so the contact's opt-out is honoured by the
sender and, outside the 24 h window, the org's approved template for the message's
purpose goes instead (``deposit`` for deposit requests, with the amount and the link
as its parameters). A deposit request whose checkout is still to be opened travels as
one ``conversation.deposit_link`` outbox message: the provider is asked for the link
after the transaction commits, then the batch is queued with it."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import panic
from servio.domains.conversations.actions import (
    Action,
    Buttons,
    ChoiceList,
    ChoiceOption,
    DepositRequest,
    SlotOffer,
    Text,
)
from servio.domains.conversations.answers import money_text
from servio.domains.conversations.models import Conversation
from servio.domains.messaging import service as messaging
from servio.platform import outbox

# Outbox kind: actions to tell a contact once their deposit's checkout is opened.
# Payload: to, key, actions.
DEPOSIT_LINK = "conversation.deposit_link"
_ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])
BUTTON_TITLE, ROW_TITLE, ROWS = 20, 24, 10  # WhatsApp's limits
TEXT_BODY, INTERACTIVE_BODY = 4096, 1024
DEPOSIT_PURPOSE = "deposit"


def _rows(options: list[ChoiceOption]) -> dict[str, Any]:
    rows = [{"id": o.id, "title": o.label[:ROW_TITLE]} for o in options[:ROWS]]
    return {"button": "Choose", "sections": [{"title": "Options", "rows": rows}]}


def render(action: Action) -> dict[str, Any]:
    """The ``messaging.send`` arguments for one action."""
    if isinstance(action, Buttons):
        buttons = [{"id": o.id, "title": o.label[:BUTTON_TITLE]} for o in action.options[:3]]
        return {"text": action.text, "buttons": buttons}
    if isinstance(action, ChoiceList):
        return {"text": action.text, "list": _rows(action.options)}
    if isinstance(action, SlotOffer):
        options = [
            ChoiceOption(id=x.id, label=x.local_start.strftime("%a %d %b %H:%M"))
            for x in action.slots
        ]
        return {"text": action.text, "list": _rows(options)} if options else {"text": action.text}
    if isinstance(action, DepositRequest) and action.checkout_url:
        return {
            "text": f"{action.text}\nPay the deposit here: {action.checkout_url}",
            "purpose": DEPOSIT_PURPOSE,
            "template_params": [
                money_text(action.amount_cents, action.currency),
                action.checkout_url,
            ],
        }
    return {"text": action.text}


def lead_in(actions: list[Action], text: str) -> list[Action]:
    """``text`` before the first action's own: one message rather than two, so outside
    the window one template goes, not two."""
    if not actions:
        return [Text(text=text)]
    first = actions[0]
    if isinstance(first, (Text, DepositRequest, SlotOffer)):
        return [first.model_copy(update={"text": f"{text} {first.text}"}), *actions[1:]]
    return [Text(text=text), *actions]


def _limit(action: Action) -> int:
    interactive = isinstance(action, (Buttons, ChoiceList)) or (
        isinstance(action, SlotOffer) and bool(action.slots)
    )
    return INTERACTIVE_BODY if interactive else TEXT_BODY


def coalesce(actions: list[Action]) -> list[Action]:
    """One WhatsApp message per turn where the limits allow: plain texts go in front of
    the next message's body. Messages of one batch are sent concurrently and could
    arrive out of order; one message cannot."""
    out: list[Action] = []
    pending: list[str] = []
    for action in actions:
        if isinstance(action, Text):
            pending.append(action.text)
            continue
        if pending:
            merged = "\n\n".join([*pending, action.text])
            if len(merged) <= _limit(action):
                action = action.model_copy(update={"text": merged})
            else:
                out.append(Text(text="\n\n".join(pending)))
            pending = []
        out.append(action)
    if pending:
        joined = "\n\n".join(pending)
        if len(joined) <= TEXT_BODY:
            out.append(Text(text=joined))
        else:
            out.extend(Text(text=text) for text in pending)
    return out


async def tell(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    actions: list[Action],
    key: str,
    *,
    automated: bool = False,
) -> bool:
    """Send actions to a WhatsApp conversation's contact (the web chat shows them in
    its own replies); ``key`` names this batch so a retry sends nothing twice. An
    ``automated`` message (not a staff decision) is held while panic mode is on.
    True when the messages were queued."""
    told = row.channel == messaging.WHATSAPP
    if told and automated and (await panic.state(s, org_id)).on:
        told = False
    if any(isinstance(a, DepositRequest) and a.checkout_pending for a in actions):
        # The provider is asked for the link after this transaction commits (even when
        # the contact is not told now: the checkout is there when they ask for it).
        await outbox.add(
            s,
            kind=DEPOSIT_LINK,
            payload={
                "to": row.contact,
                "key": key,
                "send": told,
                "actions": _ACTIONS.dump_python(actions, mode="json"),
            },
            dedupe_key=f"{DEPOSIT_LINK}:{org_id}:{key}",
            org_id=org_id,
        )
    elif told:
        await send(s, org_id, row.contact, actions, key)
    return told


async def send(
    s: AsyncSession, org_id: uuid.UUID, to: str, actions: list[Action], key: str
) -> None:
    """Queue the actions as WhatsApp messages to ``to``, ``key`` naming the batch."""
    for n, action in enumerate(coalesce(actions)):
        await messaging.send(s, org_id, to=to, dedupe_key=f"{key}:{n}", **render(action))


def actions_of(dumped: Any) -> list[Action]:
    """Actions as ``tell`` stored them in a ``conversation.deposit_link`` message."""
    return _ACTIONS.validate_python(dumped)
