"""The client portal over HTTP: the ``client_session`` cookie (or a bearer token), its
CSRF check on writes, and the portal's rate limits."""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import Depends, Request, Response

from servio.domains.portal import signin
from servio.domains.portal.config import PortalConfig
from servio.platform.errors import DomainError
from servio.platform.http.auth import CSRF_COOKIE, SAFE_METHODS, csrf_echoed, database
from servio.platform.http.ratelimit import client_bucket
from servio.platform.http.services import provided
from servio.platform.ratelimit import RateLimiter, enforce
from servio.platform.security.opaque import new_secret

SESSION_COOKIE = "client_session"
CLIENT_PATHS = ("/client", "/v1/client")


class ClientCsrfFailed(DomainError):
    status = 403
    type = "csrf-failed"
    title = "CSRF check failed"
    description = "Cookie-authenticated writes must echo the servio_csrf cookie in X-CSRF-Token."


class PortalServices(Protocol):
    @property
    def portal_config(self) -> PortalConfig: ...
    @property
    def limiter(self) -> RateLimiter: ...


def portal_config(request: Request) -> PortalConfig:
    return cast(PortalServices, provided(request)).portal_config


def limiter(request: Request) -> RateLimiter:
    return cast(PortalServices, provided(request)).limiter


def client_address(request: Request) -> str:
    return client_bucket(request.client.host if request.client else "-")


async def limit_sign_in_requests(request: Request, org: str, email: str) -> None:
    """Asking for links is limited per address asked for and per client address
    (429 ``rate-limited``), so nobody floods a customer's inbox or scans addresses."""
    config = portal_config(request)
    await enforce(limiter(request), f"portal:link-ip:{client_address(request)}", config.ip_rate)
    key = f"portal:link-email:{org.lower()}:{email.strip().lower()[:320]}"
    await enforce(limiter(request), key, config.email_rate)


def _sent_token(request: Request) -> tuple[str | None, bool]:
    """The session token and whether it came in the cookie."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip(), False
    return request.cookies.get(SESSION_COOKIE), True


async def current_client(request: Request) -> signin.ClientSession:
    """The signed-in customer (401 ``client-not-signed-in``); a cookie write must carry
    the CSRF value (403); every call counts against the session's rate (429)."""
    token, via_cookie = _sent_token(request)
    if token and not via_cookie and not signin.is_session_token(portal_config(request), token):
        raise signin.ClientSessionRequired("Sign in to the client portal by emailed link.")
    session = await signin.session_of(database(request), portal_config(request), token)
    if via_cookie and request.method not in SAFE_METHODS and not await csrf_echoed(request):
        raise ClientCsrfFailed("Send the servio_csrf cookie's value in the X-CSRF-Token header.")
    rate = portal_config(request).session_rate
    await enforce(limiter(request), f"portal:session:{session.sign_in_id}", rate)
    request.state.client_session = session
    return session


Client = Annotated[signin.ClientSession, Depends(current_client)]


def set_client_cookies(
    request: Request, response: Response, started: signin.StartedSession
) -> None:
    """The session in an HttpOnly cookie, plus the readable CSRF value pages echo."""
    config = portal_config(request)
    max_age = int(config.session_ttl.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=max_age,
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
        path="/",
    )
    if not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            new_secret("", 24),
            max_age=max_age,
            secure=config.secure_cookies,
            samesite="lax",
            path="/",
        )


def clear_client_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
