"""A tattoo deposit whose checkout lapsed: the provider reported the Checkout Session
expired (``checkout.session.expired``, by default a day after it opened) or its payment
failed (``checkout.session.async_payment_failed``), and the core announced
``booking.deposit_lapsed`` for the booking (its hold released). A card declined on the
checkout page is not a lapse: the same session stays open for another try.

What a studio expects, and what happens, for a conversation AWAITING_DEPOSIT:

- the first lapse re-issues the link: a new PENDING booking for the same slot and a
  new checkout (a fresh Checkout Session), sent to the contact with a word on why
  ("your link expired" / "your payment did not go through"); the conversation stays
  AWAITING_DEPOSIT on the new booking. When the slot was taken meanwhile the contact
  is offered the artists' free times instead and picking one opens the new checkout;
- the second lapse (``FOLLOW_UP_AFTER``) stops re-issuing: the conversation moves to
  NEEDS_FOLLOW_UP (the studio's queue) and the contact is told someone will be in
  touch, and may reply to get a new link sooner. Staff move it back to
  AWAITING_DEPOSIT to send a fresh request.

Every lapse is recorded on the conversation (answer ``_deposit_lapses``: booking,
reason, time, outcome, whether the contact was told) and its booking link is cleared.
The message goes as free text inside WhatsApp's 24 h window and as the org's approved
template (``deposit`` for a new link, the default follow-up otherwise) outside it;
an opted-out contact gets nothing (the sender skips it) and while panic mode is on
the notice is held (recorded as not told). A conversation in any other stage (handed
over, stale, opted out, booked...) only records the lapse."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.conversations import deposits, machine, outbound
from servio.domains.conversations.actions import Action, DepositRequest, Text
from servio.domains.conversations.flows import flow_for
from servio.domains.conversations.machine import Stage
from servio.domains.conversations.models import Conversation
from servio.domains.conversations.store import holding_booking, state_of, store
from servio.domains.identity import service as identity
from servio.platform.db import Database, utcnow
from servio.platform.outbox import Delivery, PermanentFailure

FOLLOW_UP_AFTER = 2  # lapses before a person takes it from here
LAPSES = "_deposit_lapses"
WHY = {
    "expired": "Your deposit link has expired.",
    "failed": "Your deposit payment did not go through.",
}
FRESH = {"expired": "Here is a fresh one.", "failed": "Here is a fresh link to try again."}
FOLLOW_UP = (
    "Your deposit link has {what} again, so we have released the time for now. Someone "
    "from the studio will be in touch to find a time that works; reply here any time to "
    "get a new link sooner."
)


async def _reissue(
    s: AsyncSession,
    org_id: uuid.UUID,
    row: Conversation,
    state: machine.State,
    reason: str,
    checkout: deposits.Checkout,
    now: datetime,
) -> tuple[machine.State, list[Action], str]:
    org = await identity.get_org(s, org_id)
    business = deposits.Business(org.id, org.currency, org.timezone)
    flow = flow_for(org.vertical)
    state, actions = await deposits.ask_deposit(s, business, row, flow, state, checkout, now)
    reissued = any(
        isinstance(a, DepositRequest) and (a.checkout_url or a.checkout_pending) for a in actions
    )
    why = WHY.get(reason, WHY["expired"])
    if reissued:
        why = f"{why} {FRESH.get(reason, FRESH['expired'])}"
    return state, outbound.lead_in(actions, why), "reissued" if reissued else "offered"


async def deposit_lapsed(
    s: AsyncSession,
    org_id: uuid.UUID,
    booking_id: uuid.UUID,
    reason: str,
    checkout: deposits.Checkout,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Apply one lapsed deposit to the conversation holding the booking (see the module
    docstring); the lapse as recorded, or None when no conversation holds it."""
    now = now or utcnow()
    row = await holding_booking(s, org_id, booking_id)
    if row is None:
        return None
    state = state_of(row)
    earlier = list(state.answers.get(LAPSES) or [])
    lapse: dict[str, Any] = {"booking_id": str(booking_id), "reason": reason, "at": now.isoformat()}
    row.booking_id = None  # that booking is gone; a new request opens a new one
    actions: list[Action] = []
    if state.stage != Stage.AWAITING_DEPOSIT:
        lapse["outcome"] = "noted"
    elif len(earlier) + 1 >= FOLLOW_UP_AFTER:
        what = "expired" if reason == "expired" else "failed"
        state, lapse["outcome"] = state.to(Stage.NEEDS_FOLLOW_UP), "follow_up"
        actions = [Text(text=FOLLOW_UP.format(what=what))]
    else:
        state, actions, lapse["outcome"] = await _reissue(
            s, org_id, row, state, reason, checkout, now
        )
    key = f"{deposits.LAPSED_KEY}:{booking_id}"
    lapse["told"] = bool(actions) and await outbound.tell(
        s, org_id, row, actions, key, automated=True
    )
    state = replace(state, answers={**state.answers, LAPSES: [*earlier, lapse]})
    store(row, state, now)
    await s.flush()
    return lapse


@dataclass(frozen=True)
class LapsedDeposits:
    """Outbox handler of ``booking.deposit_lapsed``."""

    db: Database
    checkout: deposits.Checkout

    async def __call__(self, delivery: Delivery) -> None:
        try:
            org_id = uuid.UUID(str(delivery.org_id))
            booking_id = uuid.UUID(str(delivery.payload["booking_id"]))
            reason = str(delivery.payload.get("reason") or "expired")
        except (KeyError, ValueError) as exc:
            raise PermanentFailure(f"malformed {delivery.kind}: {exc}") from exc
        async with self.db.unit_of_work(org_id) as s:
            await deposit_lapsed(s, org_id, booking_id, reason, self.checkout)
