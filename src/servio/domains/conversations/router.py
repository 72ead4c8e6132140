"""The web chat (``POST /v1/chat/messages``, public), staff moves on a conversation,
and ``GET /admin/slot-parse-stats`` (how well free-text dates were understood)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from servio.domains.conversations import deposits, outbound, service
from servio.domains.conversations import deps as conversation_deps
from servio.domains.conversations.schemas import (
    ChatMessageIn,
    ChatReplyOut,
    ChatTurnIn,
    ChatTurnOut,
    ConversationOut,
    SlotParseStatsOut,
    StageIn,
)
from servio.domains.identity import deps as identity_deps
from servio.domains.identity.service import Org
from servio.platform.db import utcnow
from servio.platform.http.auth import OrgSession, database, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["conversations"], route_class=JsonRoute)
OrgSlug = Annotated[str | None, Query(alias="org", max_length=63, description="business slug")]


def checkout_of(request: Request) -> deposits.Checkout:
    """How this deployment opens a deposit checkout."""
    return conversation_deps.checkout(request)


async def web_chat_turn(
    request: Request,
    org_slug: str | None,
    session_id: str,
    text: str,
    reply_id: str | None,
    *,
    default_org: bool,
) -> tuple[Org, service.Handled]:
    """One web chat message through the business's conversation (the API's chat routes
    and the chat page): 404 for an unknown business; with ``default_org`` a request
    naming none goes to the deployment's default business."""
    db = database(request)
    found = await identity_deps.public_orgs(request)(org_slug, default=default_org)
    checkout = checkout_of(request)
    prices = checkout.prices
    async with db.unit_of_work(found.id) as s:
        handled = await service.converse(
            s, found.id, "web", session_id, text, reply_id, prices=prices, checkout=checkout
        )
    # A deposit's checkout is asked of the provider once the turn committed.
    actions = await deposits.with_checkout(db, found.id, handled.actions, checkout)
    return found, replace(handled, actions=actions)


@router.post(
    "/v1/chat/messages",
    summary="The web chat: one message in, the conversation's actions out",
    responses=problem_responses(404, 422),
)
async def chat_message(body: ChatMessageIn, request: Request, org: OrgSlug = None) -> ChatReplyOut:
    _found, handled = await web_chat_turn(
        request, org, body.session_id, body.text, body.reply_id, default_org=True
    )
    row = handled.conversation
    return ChatReplyOut(
        conversation_id=row.id,
        stage=row.stage,
        question=row.question,
        actions=handled.actions,
        paused=handled.paused,
    )


@router.post(
    "/v1/chat/turn",
    summary="The web chat, one turn: the body names the business; the reply as text too",
    responses=problem_responses(404, 422),
)
async def chat_turn(body: ChatTurnIn, request: Request, org: OrgSlug = None) -> ChatTurnOut:
    _found, handled = await web_chat_turn(
        request, body.org or org, body.session_id, body.text, body.reply_id, default_org=True
    )
    row = handled.conversation
    estimate = (row.answers or {}).get("_estimate")
    return ChatTurnOut(
        reply="\n".join(a.text for a in handled.actions if getattr(a, "text", "")),
        actions=handled.actions,
        state=row.stage,
        conversation_id=row.id,
        question=row.question,
        estimate=estimate if isinstance(estimate, dict) else None,
        paused=handled.paused,
    )


@router.get(
    "/v1/conversations/{conversation_id}",
    summary="A conversation: its stage, answers and flags",
    responses=problem_responses(401, 403, 404),
)
async def get_conversation(
    conversation_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require("leads:read"))],
    s: OrgSession,
) -> ConversationOut:
    return ConversationOut.of(await service.get(s, principal.org_id, conversation_id))


@router.post(
    "/v1/conversations/{conversation_id}/stage",
    summary="Move a conversation along its lifecycle (illegal moves are 409)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def move_stage(
    conversation_id: uuid.UUID,
    body: StageIn,
    request: Request,
    principal: Annotated[Principal, Depends(require("leads:write"))],
) -> ConversationOut:
    """Approving for a deposit (AWAITING_DEPOSIT) books the slot the contact picked and
    opens its checkout (with the provider, once the move committed); a WhatsApp contact
    is sent what they are to be told."""
    db, checkout, org_id = database(request), checkout_of(request), principal.org_id
    async with db.unit_of_work(org_id) as s:
        handled = await service.move(s, org_id, conversation_id, body.stage, checkout=checkout)
    row = handled.conversation
    actions = await deposits.with_checkout(db, org_id, handled.actions, checkout)
    async with db.unit_of_work(org_id) as s:
        await outbound.tell(s, org_id, row, actions, f"stage:{row.id}:{row.version}")
    return ConversationOut.of(row, actions)


@router.get(
    "/admin/slot-parse-stats",
    summary="How free-text date answers were read: successes by kind, rejections by reason",
    responses=problem_responses(401, 403),
)
async def slot_parse_stats(
    principal: Annotated[Principal, Depends(require("leads:read"))],
    s: OrgSession,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> SlotParseStatsOut:
    since = utcnow() - timedelta(days=days)
    return SlotParseStatsOut(**await service.slot_parse_stats(s, principal.org_id, since))
