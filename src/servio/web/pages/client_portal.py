"""The client portal's pages: sign in by emailed link, see upcoming and past
bookings, cancel or move one while the business's cut-off allows, download my data,
sign out. Handlers call the portal's services; the rules live there."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from servio.domains.identity import service as identity
from servio.domains.portal import service, signin
from servio.domains.portal.deps import (
    clear_client_cookies,
    current_client,
    limit_sign_in_requests,
    portal_config,
    set_client_cookies,
)
from servio.domains.portal.router import NEUTRAL
from servio.platform.dates import parse_sane_date, parse_sane_datetime
from servio.platform.db import utcnow
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.ratelimit import RateLimited
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import page_redirect, reader_locale, render

router = APIRouter(include_in_schema=False)
HOME = "/client"
LOGIN = "/client/login/request"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class ClientSignInRequired(Exception):
    """No valid client session: the browser goes to the sign-in page."""


class ClientPageRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


async def _customer(request: Request) -> signin.ClientSession:
    try:
        return await current_client(request)
    except signin.ClientNotSignedIn as exc:
        raise ClientSignInRequired from exc
    except DomainError as refused:  # CSRF, rate limit
        raise ClientPageRefused(refused.status, str(refused)) from refused


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    return page_redirect(request, LOGIN)


async def on_page_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClientPageRefused)
    return error_page(request, exc.status, exc.detail)


def _login_page(request: Request, status: int = 200, **context: Any) -> Response:
    values = {"org": "", "email": "", "error": None, "sent": False, "locale": None}
    return render(request, "client/login.html", values | context, status_code=status)


@router.get(LOGIN)
async def login_form(request: Request, org: Annotated[str, Query(max_length=63)] = "") -> Response:
    return _login_page(request, org=org)


@router.post(LOGIN)
async def login_request(
    request: Request,
    org: Annotated[str, Form(max_length=63)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    org, email = org.strip(), email.strip()
    if not org or not email:
        return _login_page(
            request, 422, org=org, email=email, error="Enter the business and your email address."
        )
    try:
        await limit_sign_in_requests(request, org, email)
        await signin.request_link(
            database(request),
            portal_config(request),
            org_slug=org,
            email=email,
            ip=request.client.host if request.client else None,
        )
    except RateLimited as limited:
        error = "Too many sign-in requests. Wait a few minutes and try again."
        page = _login_page(request, 429, org=org, email=email, error=error)
        page.headers.update(limited.headers)
        return page
    except DomainError:
        error = "Enter a valid email address, such as name@example.com."
        return _login_page(request, 422, org=org, email=email, error=error)
    return _login_page(request, org=org, email=email, sent=True, notice=NEUTRAL)


def _link_refused(request: Request, refused: DomainError) -> Response:
    reason = str((refused.extra or {}).get("reason", "invalid"))
    context = {"reason": reason, "detail": str(refused)}
    return render(
        request, "client/link_refused.html", context, status_code=refused.status, headers=NO_STORE
    )


@router.get("/client/login/callback")
async def login_callback(
    request: Request, token: Annotated[str, Query(max_length=1000)] = ""
) -> Response:
    """The emailed link opens a page with a Sign in button: opening the link (as mail
    scanners do) does not spend it; pressing the button does."""
    db = database(request)
    try:
        org_id = await signin.check_link(db, portal_config(request), token)
    except (signin.InvalidSignInLink, signin.SignInLinkGone) as refused:
        return _link_refused(request, refused)
    async with db.unit_of_work(org_id) as s:
        org = await identity.get_org(s, org_id)
    context = {"token": token, "business_name": org.name}
    return render(request, "client/confirm_sign_in.html", context, headers=NO_STORE)


@router.post("/client/login/callback")
async def login_confirmed(
    request: Request, token: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    try:
        started = await signin.sign_in(database(request), portal_config(request), token)
    except (signin.InvalidSignInLink, signin.SignInLinkGone) as refused:
        return _link_refused(request, refused)
    response = RedirectResponse(HOME, status_code=303, headers=NO_STORE)
    set_client_cookies(request, response, started)
    return response


async def _page_context(request: Request, who: signin.ClientSession) -> dict[str, Any]:
    async with database(request).unit_of_work(who.org_id) as s:
        org = await identity.get_org(s, who.org_id)
        cutoff = await service.cutoff_hours(s, who.org_id)
    return {
        "who": who,
        "business_name": org.name,
        "org": org,
        "tz": ZoneInfo(org.timezone),
        "locale": reader_locale(request),
        "cutoff_hours": cutoff,
    }


@router.get(HOME)
async def home(request: Request) -> Response:
    who = await _customer(request)
    context = await _page_context(request, who)
    async with database(request).unit_of_work(who.org_id) as s:
        found = await service.customer_bookings(s, who)
    context |= {"upcoming": found.upcoming, "past": found.past}
    return render(request, "client/home.html", context, headers=NO_STORE)


async def _detail(
    request: Request,
    who: signin.ClientSession,
    booking_id: uuid.UUID,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = await _page_context(request, who)
    async with database(request).unit_of_work(who.org_id) as s:
        try:
            b = await service.customer_booking(s, who, booking_id)
        except DomainError:
            return error_page(request, 404)
    now = utcnow()
    context |= {
        "booking": b,
        "policy": service.policy_for(b, context["cutoff_hours"], now),
        "today": now.astimezone(context["tz"]).date().isoformat(),
        "done": request.query_params.get("done"),
        "error": None,
    }
    return render(request, "client/booking.html", context | extra, status_code=status)


@router.get("/client/bookings/{booking_id}")
async def booking_page(booking_id: uuid.UUID, request: Request) -> Response:
    return await _detail(request, await _customer(request), booking_id)


@router.get("/client/bookings/{booking_id}/slots")
async def booking_slots(
    booking_id: uuid.UUID, request: Request, day: Annotated[str, Query(alias="date")] = ""
) -> Response:
    who = await _customer(request)
    context = await _page_context(request, who)
    try:
        wanted = parse_sane_date(day)
        async with database(request).unit_of_work(who.org_id) as s:
            starts = await service.free_starts(s, who, booking_id, wanted)
    except ValueError:
        return render(
            request, "client/_slots.html", context | {"error": "Pick a date."}, status_code=422
        )
    except DomainError as refused:
        context |= {"error": refused.detail or refused.title}
        return render(request, "client/_slots.html", context, status_code=422)
    return render(request, "client/_slots.html", context | {"starts": starts, "error": None})


async def _change(
    request: Request, booking_id: uuid.UUID, done: str, start: datetime | None = None
) -> Response:
    who = await _customer(request)
    try:
        async with database(request).unit_of_work(who.org_id) as s:
            if start is None:
                await service.cancel(s, who, booking_id)
            else:
                await service.reschedule(s, who, booking_id, start)
    except DomainError as refused:
        if refused.status == 404:
            return error_page(request, 404)
        return await _detail(request, who, booking_id, refused.status, error=str(refused))
    return page_redirect(request, f"/client/bookings/{booking_id}?done={quote(done)}")


def _start(value: str) -> datetime | None:
    """A start the slot picker offered: ISO 8601 with its offset."""
    try:
        parsed = parse_sane_datetime(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@router.post("/client/bookings/{booking_id}/cancel")
async def cancel_booking(booking_id: uuid.UUID, request: Request) -> Response:
    return await _change(request, booking_id, "cancelled")


@router.post("/client/bookings/{booking_id}/reschedule")
async def reschedule_booking(
    booking_id: uuid.UUID, request: Request, start: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    wanted = _start(start)
    if wanted is None:
        who = await _customer(request)
        return await _detail(request, who, booking_id, 422, error="Choose a new time first.")
    return await _change(request, booking_id, "moved", wanted)


@router.post("/client/logout")
async def logout(request: Request) -> Response:
    who = await _customer(request)
    await signin.sign_out(database(request), who)
    async with database(request).unit_of_work(who.org_id) as s:
        org = await identity.get_org(s, who.org_id)
    response = RedirectResponse(f"{LOGIN}?org={quote(org.slug)}", status_code=303)
    clear_client_cookies(response)
    return response


def install_client_portal(app: FastAPI) -> None:
    app.add_exception_handler(ClientSignInRequired, on_sign_in_required)
    app.add_exception_handler(ClientPageRefused, on_page_refused)
