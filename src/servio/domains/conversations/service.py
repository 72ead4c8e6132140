"""The conversation engine on the database: any channel hands it an inbound message and
renders the actions it returns.

``converse`` finds (or starts) the one conversation of (org, channel, contact), locks
it, runs the pure machine, adds what needs the database (the artists' free starts for
the preferred window, the core estimate) and stores the new state with a turn in the
log. WhatsApp calls it from its ``conversation.inbound`` handler exactly as the web chat
does from its route.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.catalog import service as catalog
from servio.domains.conversations import (
    deposits,
    machine,
    offers,
    ordering,
    outbound,
    panic,
    review,
)
from servio.domains.conversations.actions import (
    Action,
    Text,
)
from servio.domains.conversations.answers import Context, money_text
from servio.domains.conversations.deposits import Checkout as Checkout
from servio.domains.conversations.flows import Flow, flow_for
from servio.domains.conversations.machine import Stage as Stage
from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.conversations.review import REVIEW_REQUESTED as REVIEW_REQUESTED
from servio.domains.conversations.review import review_summary as review_summary
from servio.domains.conversations.store import ConversationNotFound as ConversationNotFound
from servio.domains.conversations.store import Handled as Handled
from servio.domains.conversations.store import get as get
from servio.domains.conversations.store import holding_booking
from servio.domains.conversations.store import state_of as _state
from servio.domains.conversations.store import store as _store
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.platform.db import utcnow
from servio.platform.db.scoped import in_org, owned
from servio.platform.errors import Conflict

log = logging.getLogger(__name__)
_ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])
MAX_TEXT = 4000


async def _conversation(
    s: AsyncSession, org_id: uuid.UUID, channel: str, contact: str, vertical: str
) -> Conversation:
    """The contact's conversation, locked; started on their first message."""
    query = (
        owned(Conversation, org_id)
        .where(
            Conversation.channel == channel,
            Conversation.contact == contact,
        )
        .with_for_update()
    )
    row = await s.scalar(query)
    if row is not None:
        return row
    try:
        async with s.begin_nested():
            row = Conversation(org_id=org_id, channel=channel, contact=contact, vertical=vertical)
            s.add(row)
            await s.flush()
        return row
    except IntegrityError:
        found = await s.scalar(query)  # another message from the contact started it
        assert found is not None
        return found


async def converse(
    s: AsyncSession,
    org_id: uuid.UUID,
    channel: str,
    contact: str,
    text: str,
    reply_id: str | None = None,
    now: datetime | None = None,
    *,
    prices: catalog.Catalog | None = None,
    media: list[str] | None = None,
    checkout: deposits.Checkout | None = None,
    sent_at: datetime | None = None,
    message_ref: str | None = None,
) -> Handled:
    """Run one inbound message through the org's conversation flow. ``media`` names the
    images it carried (``media:<channel message id>``): attached to the conversation,
    and the answer when the flow is asking for images. With ``checkout``, a slot picked
    while the deposit is awaited opens its booking and checkout. A message whose channel
    time ``sent_at`` (then id ``message_ref``) is no newer than the last one applied is
    only logged (``ordering``)."""
    now = now or utcnow()
    org = await identity.get_org(s, org_id)
    flow = flow_for(org.vertical)
    row = await _conversation(s, org_id, channel, contact, org.vertical)
    images = tuple(str(ref)[:200] for ref in (media or [])[:10])
    text = text[:MAX_TEXT] or " ".join(images)
    if ordering.is_late(row, sent_at, message_ref):
        await ordering.keep_late(s, org_id, row, text, reply_id, images, sent_at)
        return Handled(row, [])
    if await panic.hold(s, org_id, row, text, reply_id, now):
        if images:  # unanswered, but the image stays with the conversation
            row.answers = dict(machine.attach(_state(row), images).answers)
        return Handled(row, [], paused=True)
    ctx = Context(
        now=now,
        tz=ZoneInfo(org.timezone),
        currency=org.currency,
        day_first=flow.day_first,
        keywords=flow.keywords,
    )
    asked, arrived_from = row.question, row.stage
    result = machine.step(flow, _state(row), text, reply_id, ctx, images)
    state, actions = result.state, list(result.actions)
    if result.completed:
        state, more = await _complete(s, org_id, flow, state, now, org.timezone, prices)
        actions += more
    if checkout is not None and state.stage == Stage.AWAITING_DEPOSIT:
        business = deposits.Business(org.id, org.currency, org.timezone)
        state, actions = await _awaiting_deposit(
            s, business, row, flow, state, actions, checkout, now
        )
    _store(row, state, now)
    row.last_inbound_at = now
    ordering.applied(row, sent_at, message_ref)
    if state.stage == review.REVIEW_STAGE and arrived_from != review.REVIEW_STAGE:
        await review.request_review(s, org_id, row, now)
    s.add(
        ConversationTurn(
            org_id=org_id,
            conversation_id=row.id,
            text=text,
            reply_id=reply_id,
            question=asked,
            stage=state.stage,
            actions=_ACTIONS.dump_python(actions, mode="json"),
            parse_outcome=result.parse.outcome if result.parse else None,
            parse_kind=result.parse.kind[:40] if result.parse else None,
            sent_at=sent_at,
        )
    )
    await s.flush()
    return Handled(row, actions)


async def _awaiting_deposit(
    s: AsyncSession,
    business: deposits.Business,
    row: Conversation,
    flow: Flow,
    state: machine.State,
    actions: list[Action],
    checkout: deposits.Checkout,
    now: datetime,
) -> tuple[machine.State, list[Action]]:
    """A turn awaiting the deposit: a slot just picked opens its booking and checkout; a
    reply while the link could not be opened yet asks for it again."""
    resumed = await deposits.resume_deposit(s, business, row, flow, state, checkout, now)
    if resumed is not None:
        return resumed
    picked = state.answers.get("slot")
    if row.booking_id is None and picked is not None and picked != (row.answers or {}).get("slot"):
        state, more = await deposits.ask_deposit(s, business, row, flow, state, checkout, now)
        noted = " ".join(a.text for a in actions if isinstance(a, Text))
        actions = outbound.lead_in(more, noted) if noted else more  # one message
    return state, actions


async def handle(
    s: AsyncSession,
    org_id: uuid.UUID,
    channel: str,
    contact: str,
    text: str,
    reply_id: str | None = None,
    now: datetime | None = None,
) -> list[Action]:
    """The actions a channel sends back for one inbound message."""
    return (await converse(s, org_id, channel, contact, text, reply_id, now)).actions


async def _complete(
    s: AsyncSession,
    org_id: uuid.UUID,
    flow: Flow,
    state: machine.State,
    now: datetime,
    timezone: str,
    prices: catalog.Catalog | None,
) -> tuple[machine.State, list[Action]]:
    """After the last answer: the free starts in the preferred window, or the estimate."""
    actions: list[Action] = []
    if flow.slots is not None:
        offer = await offers.offer(s, org_id, flow, state, now, timezone)
        if offer is not None:
            offered = [slot.model_dump(mode="json") for slot in offer.slots]
            state = replace(state, answers={**state.answers, "_offered": offered})
            actions.append(offer)
    if flow.estimate:
        found = await _estimate(s, org_id, state, prices)
        state = replace(state, answers={**state.answers, "_estimate": found.model_dump()})
        total = money_text(found.total_cents, found.currency)
        actions.append(Text(text=f"Your estimate: {total}."))
    return state, actions


async def _estimate(
    s: AsyncSession, org_id: uuid.UUID, state: machine.State, prices: catalog.Catalog | None
) -> catalog.EstimateOut:
    answers = state.answers
    inputs = catalog.EstimateIn(
        beds=int(answers["beds"]),
        baths=Decimal(str(answers["baths"])),
        cleaning_type=str(answers.get("cleaning_type", "standard")),
        frequency=str(answers.get("frequency", "one_time")),
    )
    return await catalog.price_inputs(s, prices or catalog.Catalog(), org_id, inputs)


async def move(
    s: AsyncSession,
    org_id: uuid.UUID,
    conversation_id: uuid.UUID,
    stage: str,
    now: datetime | None = None,
    *,
    checkout: deposits.Checkout | None = None,
) -> Handled:
    """Staff move a conversation (approve for a deposit, hand back to the bot, book,
    reject); an illegal move is a 409. Returns what the contact is to be told. With
    ``checkout``, approving for a deposit books the chosen slot and opens its checkout
    (or offers free times to pick from when none is chosen)."""
    now = now or utcnow()
    row = await get(s, org_id, conversation_id, lock=True)
    org = await identity.get_org(s, org_id)
    flow = flow_for(org.vertical)
    state = _state(row).to(stage)
    if row.stage == Stage.HANDED_OVER:
        state = replace(state, handed_over=False, resume_stage=None)
    if row.stage == Stage.OPTED_OUT:
        state = replace(state, opted_out=False, resume_stage=None)
    if stage == Stage.AWAITING_DEPOSIT and checkout is not None:
        business = deposits.Business(org.id, org.currency, org.timezone)
        state, actions = await deposits.ask_deposit(s, business, row, flow, state, checkout, now)
    else:
        actions = machine.on_stage(flow, state, org.currency)
    _store(row, state, now)
    await s.flush()
    return Handled(row, actions)


APPROVED = "Good news: the artist has approved your design!"
DECLINED = (
    "Thank you for sharing your idea with us. After a careful look, the artist is not "
    "able to take on this design, so we cannot book it. We wish you all the best with it."
)


class DesignDecided(Conflict):
    type = "design-already-decided"
    title = "This design is not waiting for a decision"
    description = "A design is approved or declined once, while it waits for review."


async def decide_design(
    s: AsyncSession,
    org_id: uuid.UUID,
    conversation_id: uuid.UUID,
    approved: bool,
    *,
    checkout: deposits.Checkout | None,
    key: str,
) -> Handled:
    """Staff's decision on a design (an action link): approval takes the booking path
    (AWAITING_DEPOSIT, the deposit request with its link, or free times to pick),
    rejection ends the conversation (REJECTED) with a polite word. The contact is told
    through their channel. Only a design waiting for review can be decided: once the
    first decision moved it on, the other link is a 409 and nothing is sent."""
    current = await get(s, org_id, conversation_id)
    if current.stage != review.REVIEW_STAGE:
        raise DesignDecided(
            f"The request is at {current.stage}; only a design waiting for review is decided.",
            extra={"stage": current.stage},
        )
    if approved:
        handled = await move(s, org_id, conversation_id, Stage.AWAITING_DEPOSIT, checkout=checkout)
        actions = outbound.lead_in(handled.actions, APPROVED)
    else:
        handled = await move(s, org_id, conversation_id, Stage.REJECTED)
        actions = [Text(text=DECLINED)]
    await outbound.tell(s, org_id, handled.conversation, actions, key)
    return Handled(handled.conversation, actions)


async def booking_changed(
    s: AsyncSession, org_id: uuid.UUID, booking_id: uuid.UUID, kind: str
) -> Handled | None:
    """The core's word on a conversation's booking: the deposit was paid (DEPOSIT_PAID,
    then BOOKING_PENDING until the artist confirms) or the artist confirmed (BOOKED).
    None when no conversation holds the booking or its stage does not allow the move."""
    row = await holding_booking(s, org_id, booking_id)
    if row is None:
        return None
    state = _state(row)
    try:
        if kind == bookings.DEPOSIT_PAID:
            state, text = state.to(Stage.DEPOSIT_PAID).to(Stage.BOOKING_PENDING), deposits.RECEIVED
        else:
            state, text = state.to(Stage.BOOKED), _booked_text(state.answers)
    except machine.IllegalStageTransition as exc:
        log.warning("conversation %s stays %s on %s: %s", row.id, row.stage, kind, exc)
        return None
    _store(row, state, utcnow())
    await s.flush()
    return Handled(row, [Text(text=text)])


def _booked_text(answers: dict[str, Any]) -> str:
    slot = answers.get("slot") or {}
    start = slot.get("local_start")
    when = (
        datetime.fromisoformat(start).strftime("%A %d %B at %H:%M") if start else "the agreed time"
    )
    artist = str(slot.get("resource_name") or "your artist")
    return deposits.BOOKED.format(artist=artist, when=when)


async def slot_parse_stats(s: AsyncSession, org_id: uuid.UUID, since: datetime) -> dict[str, Any]:
    """How free-text date answers were read since ``since``: counts by phrase kind for
    successes, by reason for rejections."""
    rows = await s.execute(
        select(ConversationTurn.parse_outcome, ConversationTurn.parse_kind, func.count())
        .where(
            in_org(ConversationTurn, org_id),
            ConversationTurn.created_at >= since,
            ConversationTurn.parse_outcome.is_not(None),
        )
        .group_by(ConversationTurn.parse_outcome, ConversationTurn.parse_kind)
    )
    out: dict[str, dict[str, int]] = {"success": {}, "reject": {}}
    for outcome, kind, count in rows:
        out[str(outcome)][str(kind)] = int(count)
    return {
        **out,
        "total_success": sum(out["success"].values()),
        "total_reject": sum(out["reject"].values()),
    }


async def mark_quiet(s: AsyncSession, org_id: uuid.UUID, now: datetime) -> int:
    """Conversations waiting on a contact who went quiet become STALE after the flow's
    ``stale_after_hours``; stale ones become ABANDONED after ``abandoned_after_days``."""
    org = await identity.get_org(s, org_id)
    life = flow_for(org.vertical).lifecycle
    stale_before = now - timedelta(hours=life.stale_after_hours)
    abandoned_before = now - timedelta(days=life.abandoned_after_days)
    rows = await s.scalars(
        owned(Conversation, org_id)
        .where(
            Conversation.stage.in_([*machine.WAITING_ON_CONTACT, Stage.STALE]),
            Conversation.last_inbound_at < stale_before,
        )
        .with_for_update()
    )
    moved = 0
    for row in rows:
        state = _state(row)
        if row.stage != Stage.STALE:
            state = state.to(Stage.STALE, resume_stage=row.stage)
        if row.last_inbound_at is not None and row.last_inbound_at < abandoned_before:
            state = state.to(Stage.ABANDONED)
        if state.stage != row.stage:
            _store(row, state, now)
            moved += 1
    await s.flush()
    return moved


async def orgs_with_quiet_conversations(s: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Orgs with a conversation quiet for at least an hour (each flow's own thresholds
    then decide)."""
    rows = await s.scalars(
        select(Conversation.org_id)
        .where(
            Conversation.stage.in_([*machine.WAITING_ON_CONTACT, Stage.STALE]),
            Conversation.last_inbound_at < now - timedelta(hours=1),
        )
        .distinct()
    )
    return list(rows)


STAGE_PATH = (
    Stage.NEW,
    Stage.QUALIFYING,
    Stage.NEEDS_ARTIST_REVIEW,
    Stage.AWAITING_DEPOSIT,
    Stage.DEPOSIT_PAID,
    Stage.BOOKING_PENDING,
    Stage.BOOKED,
)


async def stage_funnel(s: AsyncSession, org_id: uuid.UUID, since: datetime) -> dict[str, Any]:
    """Conversations started since ``since`` by stage, and the step conversion from
    first message to booked (empty when the org has none)."""
    rows = await s.execute(
        select(Conversation.stage, func.count())
        .where(in_org(Conversation, org_id), Conversation.created_at >= since)
        .group_by(Conversation.stage)
    )
    counts = {stage: int(n) for stage, n in rows}
    if not counts:
        return {"counts": {}, "total": 0, "steps": []}
    counts = {stage: counts.get(stage, 0) for stage in machine.STAGES}
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "steps": intake.funnel_steps(counts, STAGE_PATH),
    }
