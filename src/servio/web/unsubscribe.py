"""The public unsubscribe page behind every non-transactional email's link.

GET shows a confirmation button (link scanners fetch GETs, so a GET changes nothing);
POST unsubscribes: from the button, or straight from a mail client's one-click
(RFC 8058, body ``List-Unsubscribe=One-Click``). Either way the address is suppressed
for the org that sent the email.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError

from servio.platform.email import suppress
from servio.web.deps import AppContainer

router = APIRouter(tags=["email"])

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;max-width:32rem;margin:3rem auto;">
<h1 style="font-size:1.4rem;">{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=escape(title), body=body), status_code=status)


def _invalid() -> HTMLResponse:
    return _page(
        "This unsubscribe link is not valid",
        "<p>It may have been cut short. Copy the whole link from the email and try again.</p>",
        404,
    )


_UNKNOWN_LINK: dict[int | str, dict[str, Any]] = {
    404: {"description": "A link cut short or not ours", "content": {"text/html": {}}}
}


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, responses=_UNKNOWN_LINK)
async def confirm_unsubscribe(token: str, container: AppContainer) -> HTMLResponse:
    """Ask before unsubscribing the address the link was made for."""
    request = container.unsubscribe_links.read(token)
    if request is None:
        return _invalid()
    return _page(
        "Unsubscribe",
        f"<p>Stop these emails to <strong>{escape(request.address)}</strong>?</p>"
        f'<form method="post" action="/unsubscribe/{escape(token)}">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, responses=_UNKNOWN_LINK)
async def unsubscribe(token: str, container: AppContainer) -> HTMLResponse:
    """Suppress the link's address for its org; repeating it changes nothing."""
    request = container.unsubscribe_links.read(token)
    if request is None:
        return _invalid()
    try:
        async with container.db.unit_of_work(system=True) as session:
            await suppress(
                session, address=request.address, reason="unsubscribe", org_id=request.org_id
            )
    except IntegrityError:
        pass  # the org was deleted since: it sends nothing any more
    return _page(
        "You are unsubscribed",
        f"<p>We will not send these emails to <strong>{escape(request.address)}</strong> "
        "again. Messages you need, such as password resets, still arrive.</p>",
    )
