"""``/chat/{org_slug}``: the web chat as a page (and an embeddable frame), on the same
engine as ``POST /v1/chat/turn``. The browser keeps its conversation by a random session
cookie; each turn is an htmx post whose answer (the customer's line and the replies,
rendered from the engine's actions) is appended to the transcript."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from servio.domains.conversations.router import web_chat_turn
from servio.domains.identity import service as identity
from servio.domains.identity.models import Org
from servio.platform.http.auth import database
from servio.web.deps import get_container
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "servio_chat"
SESSION_AGE = 30 * 24 * 3600


def _valid(session_id: str) -> bool:
    return 16 <= len(session_id) <= 64 and all(c.isalnum() or c in "-_" for c in session_id)


def _session(request: Request, sent: str = "") -> tuple[str, bool]:
    """The page's session: the one the form carries (a frame on another site gets no
    cookie), else the cookie's, else a new one."""
    if _valid(sent):
        return sent, False
    known = request.cookies.get(SESSION_COOKIE, "")
    if _valid(known):
        return known, False
    return secrets.token_urlsafe(24), True


async def _embed_origins(request: Request, org: Org) -> list[str]:
    """The sites the business lets frame its chat (setting ``chat.embed_origins``,
    https origins validated when stored)."""
    async with database(request).unit_of_work(org.id) as s:
        found = (await identity.settings_of(s, org.id)).chat_embed_origins
    return [str(o) for o in found] if isinstance(found, list) else []


def _frame_policy(response: Response, embed_origins: list[str]) -> None:
    """The chat may be framed by this site and by the business's own sites only; the
    rest of the default policy stands."""
    ancestors = " ".join(["'self'", *embed_origins])
    response.headers["content-security-policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self'; frame-ancestors {ancestors}; base-uri 'self'; "
        "form-action 'self'"
    )


def _keep(request: Request, response: Response, session_id: str, slug: str) -> None:
    deployment = get_container(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_AGE,
        httponly=True,
        secure=deployment.env == "prod" or deployment.public_url.startswith("https://"),
        samesite="lax",
        path=f"/chat/{slug}",
    )


@router.get("/chat/{org_slug}")
async def chat_page(org_slug: str, request: Request) -> Response:
    try:
        org = await identity.resolve_public_org(database(request), org_slug, None)
    except identity.OrgNotFound:
        return error_page(request, 404, "We do not know this business.")
    session_id, new = _session(request)
    context = {
        "org": org,
        "session_id": session_id,
        "locale": reader_locale(request),
        "business_name": org.name,
    }
    response = render(request, "public/chat.html", context)
    _frame_policy(response, await _embed_origins(request, org))
    if new:
        _keep(request, response, session_id, org.slug)
    return response


@router.post("/chat/{org_slug}/turn")
async def chat_turn(
    org_slug: str,
    request: Request,
    text: Annotated[str, Form(max_length=2000)] = "",
    reply_id: Annotated[str | None, Form(max_length=120)] = None,
    label: Annotated[str, Form(max_length=200)] = "",
    session: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    session_id, new = _session(request, session)
    try:
        org, handled = await web_chat_turn(
            request, org_slug, session_id, text.strip(), reply_id or None, default_org=False
        )
    except identity.OrgNotFound:
        return error_page(request, 404, "We do not know this business.")
    stage = handled.conversation.stage
    said = label or text.strip()
    context = {
        "said": said,
        "session_id": session_id,
        "actions": handled.actions,
        "paused": handled.paused,
        "stage": stage,
        "org": org,
        "locale": reader_locale(request),
    }
    response = render(request, "public/chat_turn.html", context)
    if new:
        _keep(request, response, session_id, org.slug)
    return response
