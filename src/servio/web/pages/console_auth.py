"""Signing in to the staff console: email and password, then the MFA step for users who
turned it on, through the same identity services as ``/v1/auth``. The session lives in
the same HttpOnly cookies as the API's browser session, plus a copy of the refresh token
scoped to ``/app`` so that an expired access token is renewed without signing in again.

``console_member(*permissions)`` is the console pages' dependency: no valid session sends
the browser to the sign-in page; a write must carry the CSRF value (header or form field)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from servio.domains.identity import accounts, mfa, sessions
from servio.domains.identity.deps import (
    REFRESH_COOKIE,
    auth_config,
    clear_session_cookies,
    set_session_cookies,
)
from servio.platform.errors import DomainError
from servio.platform.http.auth import (
    SAFE_METHODS,
    Authenticator,
    csrf_echoed,
    database,
    from_own_site,
)
from servio.platform.http.context import ClientInfo
from servio.platform.security.principal import Principal
from servio.web.deps import get_container
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import page_redirect, render

router = APIRouter(include_in_schema=False)
CONSOLE = "/app"


class SignInRequired(Exception):
    def __init__(self, next_path: str, renewable: bool) -> None:
        self.next_path = next_path
        self.renewable = renewable


class ConsoleRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


def safe_next(value: str | None) -> str:
    """Only a path inside the console: never another site."""
    if not value:
        return CONSOLE
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(CONSOLE) or "\\" in value:
        return CONSOLE
    return value


def set_console_cookies(response: Response, request: Request, pair: sessions.TokenPair) -> None:
    config = auth_config(request)
    set_session_cookies(response, config, pair)
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=int(config.refresh_ttl.total_seconds()),
        httponly=True,
        path=CONSOLE,
        secure=config.secure_cookies,
        samesite="lax",
    )


def console_member(
    *permissions: str,
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """The signed-in staff member holding ``permissions``; else to the sign-in page."""

    async def check(request: Request) -> Principal:
        authenticator: Authenticator = get_container(request).authenticator
        try:
            principal = await authenticator.authenticate(request)
        except DomainError:
            principal = None
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if principal is None or principal.user_id is None:
            raise SignInRequired(here, renewable=bool(request.cookies.get(REFRESH_COOKIE)))
        if request.method not in SAFE_METHODS and not await csrf_echoed(request):
            raise ConsoleRefused(403, "This form expired; reload the page and try again.")
        missing = [p for p in permissions if p not in principal.permissions]
        if missing:
            raise ConsoleRefused(403, f"Your role may not do this (needs {missing[0]}).")
        if request.method not in SAFE_METHODS and principal.org_read_only:
            raise ConsoleRefused(403, "The business is read-only.")
        request.state.principal = principal
        return principal

    return check


Member = Annotated[Principal, Depends(console_member())]


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    where = "/app/session/renew" if exc.renewable else "/app/login"
    return page_redirect(request, f"{where}?next={quote(exc.next_path, safe='')}")


async def on_console_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefused)
    return error_page(request, exc.status, exc.detail)


def _login_page(request: Request, status: int = 200, **context: Any) -> Response:
    values = {"principal": None, "next": CONSOLE, "email": "", "org": "", "error": None}
    return render(request, "console/login.html", values | context, status_code=status)


@router.get("/app/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next=safe_next(next))


FOREIGN_FORM = "This sign-in form was sent from another site. Sign in on this site's own page."


def _foreign(request: Request) -> Response | None:
    """The refusal of a sign-in posted from another site (login CSRF), if it was."""
    if from_own_site(request, auth_config(request).public_url):
        return None
    return error_page(request, 403, FOREIGN_FORM)


@router.post("/app/login")
async def login(
    request: Request,
    client: ClientInfo,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    org: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = CONSOLE,
) -> Response:
    if foreign := _foreign(request):
        return foreign
    target = safe_next(next)
    try:
        pair = await accounts.login(
            database(request),
            auth_config(request),
            email=email,
            password=password,
            org_slug=org or None,
            client=client,
        )
    except accounts.MfaRequired as required:
        token = (required.extra or {}).get("mfa_token", "")
        values = {"principal": None, "mfa_token": token, "next": target, "error": None}
        return render(request, "console/mfa.html", values)
    except DomainError as refused:
        return _login_page(
            request, refused.status, next=target, email=email, org=org, error=str(refused)
        )
    response = RedirectResponse(target, status_code=303)
    set_console_cookies(response, request, pair)
    return response


@router.post("/app/login/mfa")
async def login_mfa(
    request: Request,
    client: ClientInfo,
    mfa_token: Annotated[str, Form(max_length=4000)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = CONSOLE,
) -> Response:
    if foreign := _foreign(request):
        return foreign
    target = safe_next(next)
    try:
        pair = await mfa.complete_login(
            database(request),
            auth_config(request),
            mfa_token=mfa_token,
            code=code.strip(),
            client=client,
        )
    except mfa.InvalidMfaCode as wrong:
        values = {"principal": None, "mfa_token": mfa_token, "next": target, "error": str(wrong)}
        return render(request, "console/mfa.html", values, status_code=401)
    except DomainError as refused:  # expired step or lockout: start over
        return _login_page(request, refused.status, next=target, error=str(refused))
    response = RedirectResponse(target, status_code=303)
    set_console_cookies(response, request, pair)
    return response


@router.get("/app/session/renew")
async def renew(request: Request, next: str | None = None) -> Response:
    """Trade the console's refresh cookie for a new session, then back to the page."""
    target = safe_next(next)
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        try:
            pair = await sessions.refresh(database(request), auth_config(request), token)
        except DomainError:
            pair = None
        if pair is not None:
            response = RedirectResponse(target, status_code=303)
            set_console_cookies(response, request, pair)
            return response
    response = RedirectResponse(f"/app/login?next={quote(target, safe='')}", status_code=303)
    response.delete_cookie(REFRESH_COOKIE, path=CONSOLE)
    return response


@router.post("/app/logout")
async def logout(request: Request, principal: Member) -> Response:
    if principal.session_id is not None:
        async with database(request).unit_of_work(system=True) as s:
            await sessions.revoke_sessions(s, session_ids=[principal.session_id], reason="logout")
    response = RedirectResponse("/app/login", status_code=303)
    clear_session_cookies(response)
    response.delete_cookie(REFRESH_COOKIE, path=CONSOLE)
    return response


def install_console_auth(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(ConsoleRefused, on_console_refused)
