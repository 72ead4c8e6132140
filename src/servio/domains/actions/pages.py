"""``/a/{token}``: the page behind an action link. GET only asks (link scanners fetch
GETs, so opening a link never acts); the page's button POSTs, which acts once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from servio.domains.actions import service
from servio.domains.actions.models import ActionLink
from servio.domains.conversations import deps as conversation_deps
from servio.domains.conversations import service as conversations
from servio.platform.http.auth import database
from servio.platform.http.services import deployment
from servio.platform.http.templates import PageTemplates

router = APIRouter(tags=["actions"], include_in_schema=False)
PAGES = PageTemplates(Path(__file__).parent / "templates")

DONE = {
    "booking.confirm": "The booking is confirmed.",
    "deposit.mark_paid": "The deposit is marked paid and the booking confirmed.",
    "design.approve": "The design is approved; the client has been sent the next step.",
    "design.reject": "The design is rejected; the client has been told.",
}


def _page(
    title: str,
    message: str | None = None,
    status: int = 200,
    *,
    link: ActionLink | None = None,
    token: str | None = None,
) -> HTMLResponse:
    """The action link page: a message, the link's reference, and when ``token`` is
    given the button that acts."""
    context = {
        "title": title,
        "message": message,
        "reference": str(link.subject_id) if link else None,
        "token": token,
    }
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return PAGES.render("pages/action_link.html", context, status_code=status, headers=headers)


def _checkout(request: Request) -> conversations.Checkout:
    """How an approved design's deposit checkout is opened on this deployment."""
    return conversation_deps.checkout(request)


def _secret(request: Request) -> str:
    return deployment(request).secret_key.get_secret_value()


def _refused(error: service.ActionLinkNotFound | service.ActionLinkGone) -> HTMLResponse:
    if isinstance(error, service.ActionLinkNotFound):
        return _page("This link is not valid", "Copy the whole link and try again.", 404)
    if error.extra.get("reason") == "used":
        message = "This link was already used; each link works once."
        return _page("This link was already used", message, 410)
    return _page("This link has expired", "This link has expired. Ask for a new one.", 410)


@router.get("/a/{token}", response_class=HTMLResponse)
async def confirm_action(token: str, request: Request) -> HTMLResponse:
    """Say what the link will do and offer the button; changes nothing."""
    try:
        link = await service.find(database(request), token, secret=_secret(request))
        service.ensure_open(link)
    except (service.ActionLinkNotFound, service.ActionLinkGone) as error:
        return _refused(error)
    return _page(service.KINDS[link.kind], link=link, token=token)


def _result_page(link: ActionLink, result: dict[str, Any]) -> HTMLResponse:
    if result.get("ok"):
        return _page("Done", DONE[link.kind], link=link)
    detail = str(result.get("detail") or "The action could not be completed.")
    if result.get("outcome") == "needs_refund":
        detail = "The booking's time was taken meanwhile; the deposit must be refunded."
    return _page("Not done", detail, 409, link=link)


@router.post("/a/{token}", response_class=HTMLResponse)
async def perform_action(token: str, request: Request) -> HTMLResponse:
    """Do what the link says, once."""
    ip = request.client.host if request.client else None
    try:
        link, result = await service.use(
            database(request), token, secret=_secret(request), ip=ip, checkout=_checkout(request)
        )
    except (service.ActionLinkNotFound, service.ActionLinkGone) as error:
        return _refused(error)
    return _result_page(link, result)
