"""``/a/{token}``: the page behind an action link. GET only asks (link scanners fetch
GETs, so opening a link never acts); the page's button POSTs, which acts once."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from servio.domains.actions import service
from servio.domains.actions.models import ActionLink
from servio.domains.conversations import deps as conversation_deps
from servio.domains.conversations import service as conversations
from servio.platform.http.auth import database
from servio.platform.http.services import deployment

router = APIRouter(tags=["actions"], include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"""

DONE = {
    "booking.confirm": "The booking is confirmed.",
    "deposit.mark_paid": "The deposit is marked paid and the booking confirmed.",
    "design.approve": "The design is approved; the client has been sent the next step.",
    "design.reject": "The design is rejected; the client has been told.",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _checkout(request: Request) -> conversations.Checkout:
    """How an approved design's deposit checkout is opened on this deployment."""
    return conversation_deps.checkout(request)


def _secret(request: Request) -> str:
    return deployment(request).secret_key.get_secret_value()


def _refused(error: service.ActionLinkNotFound | service.ActionLinkGone) -> HTMLResponse:
    if isinstance(error, service.ActionLinkNotFound):
        return _page("This link is not valid", "<p>Copy the whole link and try again.</p>", 404)
    if error.extra.get("reason") == "used":
        body = "<p>This link was already used; each link works once.</p>"
        return _page("This link was already used", body, 410)
    body = "<p>This link has expired. Ask for a new one.</p>"
    return _page("This link has expired", body, 410)


def _subject(link: ActionLink) -> str:
    return f"<p>Reference: <code>{escape(str(link.subject_id))}</code></p>"


@router.get("/a/{token}", response_class=HTMLResponse)
async def confirm_action(token: str, request: Request) -> HTMLResponse:
    """Say what the link will do and offer the button; changes nothing."""
    try:
        link = await service.find(database(request), token, secret=_secret(request))
        service.ensure_open(link)
    except (service.ActionLinkNotFound, service.ActionLinkGone) as error:
        return _refused(error)
    what = service.KINDS[link.kind]
    return _page(
        what,
        f"{_subject(link)}"
        f'<form method="post" action="/a/{escape(token)}">'
        f'<button type="submit">{escape(what)}</button></form>',
    )


def _result_page(link: ActionLink, result: dict[str, Any]) -> HTMLResponse:
    if result.get("ok"):
        return _page("Done", f"<p>{escape(DONE[link.kind])}</p>{_subject(link)}")
    detail = str(result.get("detail") or "The action could not be completed.")
    if result.get("outcome") == "needs_refund":
        detail = "The booking's time was taken meanwhile; the deposit must be refunded."
    return _page("Not done", f"<p>{escape(detail)}</p>{_subject(link)}", 409)


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
