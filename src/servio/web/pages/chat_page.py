"""``/chat/{org_slug}``: the web chat as a page (and an embeddable frame), on the same
engine as ``POST /v1/chat/turn``. The browser keeps its conversation by a random session
cookie; each turn is an htmx post whose answer (the customer's line and the replies,
rendered from the engine's actions) is appended to the transcript."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from servio.domains.catalog.service import Catalog
from servio.domains.conversations import service as conversations
from servio.domains.identity import service as identity
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "servio_chat"
SESSION_AGE = 30 * 24 * 3600


def _session(request: Request) -> tuple[str, bool]:
    known = request.cookies.get(SESSION_COOKIE, "")
    if 16 <= len(known) <= 64 and all(c.isalnum() or c in "-_" for c in known):
        return known, False
    return secrets.token_urlsafe(24), True


def _keep(response: Response, session_id: str, slug: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_AGE,
        httponly=True,
        samesite="lax",
        path=f"/chat/{slug}",
    )


@router.get("/chat/{org_slug}")
async def chat_page(org_slug: str, request: Request) -> Response:
    try:
        org = await identity.resolve_public_org(database(request), org_slug, None)
    except DomainError:
        return error_page(request, 404, "We do not know this business.")
    session_id, new = _session(request)
    context = {"org": org, "locale": reader_locale(request), "business_name": org.name}
    response = render(request, "public/chat.html", context)
    if new:
        _keep(response, session_id, org.slug)
    return response


@router.post("/chat/{org_slug}/turn")
async def chat_turn(
    org_slug: str,
    request: Request,
    text: Annotated[str, Form(max_length=2000)] = "",
    reply_id: Annotated[str | None, Form(max_length=120)] = None,
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    db = database(request)
    try:
        org = await identity.resolve_public_org(db, org_slug, None)
    except DomainError:
        return error_page(request, 404, "We do not know this business.")
    session_id, new = _session(request)
    prices: Catalog | None = getattr(request.app.state, "catalog", None)
    async with db.unit_of_work(org.id, immediate=True) as s:
        handled = await conversations.converse(
            s, org.id, "web", session_id, text.strip(), reply_id or None, prices=prices
        )
        stage = handled.conversation.stage
    said = label or text.strip()
    context = {
        "said": said,
        "actions": handled.actions,
        "paused": handled.paused,
        "stage": stage,
        "org": org,
        "locale": reader_locale(request),
    }
    response = render(request, "public/chat_turn.html", context)
    if new:
        _keep(response, session_id, org.slug)
    return response
