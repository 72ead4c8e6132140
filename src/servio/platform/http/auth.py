"""Dependencies that turn a request into a ``Principal`` and check its permissions.

The container gives the ``Authenticator`` (identity's, in this product); routes declare
``require("bookings:write")`` and get the principal, or a 401/403/409 Problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, Protocol, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.config import Settings
from servio.platform.errors import DomainError
from servio.platform.http.services import database as database
from servio.platform.http.services import provided
from servio.platform.ratelimit import RateLimiter, enforce
from servio.platform.security.opaque import same
from servio.platform.security.principal import Principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_COOKIE = "servio_csrf"
CSRF_HEADER = "x-csrf-token"


class NotAuthenticated(DomainError):
    status = 401
    type = "not-authenticated"
    title = "Authentication required"
    description = "Send a bearer access token, an API key or the session cookie."


class Forbidden(DomainError):
    status = 403
    type = "forbidden"
    title = "Not allowed"
    description = "The principal lacks the permission this action needs; `permission` names it."


class CsrfFailed(DomainError):
    status = 403
    type = "csrf-failed"
    title = "CSRF check failed"
    description = "Cookie-authenticated writes must echo the servio_csrf cookie in X-CSRF-Token."


class ReadOnly(DomainError):
    status = 409
    type = "read-only"
    title = "The business is in read-only mode"
    description = "Writes are refused while the org is read-only, except with a break-glass grant."


class MfaEnrollmentRequired(DomainError):
    status = 403
    type = "mfa-enrollment-required"
    title = "Set up two-factor authentication first"
    description = "The org requires MFA for this role; enroll at /v1/auth/2fa/enroll."


class Authenticator(Protocol):
    async def authenticate(self, request: Request) -> Principal | None: ...


class AuthServices(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def authenticator(self) -> Authenticator: ...


async def csrf_echoed(request: Request) -> bool:
    """Whether a cookie-borne write echoes the readable CSRF cookie, in the
    ``X-CSRF-Token`` header (scripts, htmx) or a form's ``csrf`` field (plain forms)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and "form" in request.headers.get("content-type", ""):
        sent = str((await request.form()).get("csrf", ""))
    return bool(cookie and sent and same(cookie, sent))


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, the port made explicit; None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def from_own_site(request: Request, *trusted_urls: str) -> bool:
    """Whether a browser form was posted from one of our own pages: its ``Origin`` (or,
    without one, its ``Referer``) is the request's own origin or that of a trusted URL
    (the deployment's public URL). A post naming neither is not from a browser that
    could be tricked into it, and passes; ``Origin: null`` (a sandboxed frame) does not."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is None:
        return True
    origin = _origin_of(sent)
    own = {_origin_of(str(request.base_url)), *(_origin_of(url) for url in trusted_urls)}
    return origin is not None and origin in own


async def optional_principal(request: Request) -> Principal | None:
    """The caller's principal when credentials were sent (bad ones are refused)."""
    state = request.scope.setdefault("state", {})  # what request.state reads and writes
    if "principal" in state:
        cached: Principal | None = state["principal"]
        return cached
    authenticator = cast(AuthServices, provided(request)).authenticator
    principal = await authenticator.authenticate(request)
    if principal is not None and principal.via_cookie and request.method not in SAFE_METHODS:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not cookie or not sent or not same(cookie, sent):
            raise CsrfFailed("Send the servio_csrf cookie's value in the X-CSRF-Token header.")
    if principal is not None:
        await _limit(request, principal)
    request.state.principal = principal
    return principal


async def _limit(request: Request, principal: Principal) -> None:
    """Per-principal rate limit, at the org's override when it set one."""
    services = cast(AuthServices, provided(request))
    rate = principal.extra.get("rate_limit") or services.settings.rate_limit_authenticated
    if rate:
        await enforce(services.limiter, f"principal:{principal.actor}", rate)


async def current_principal(request: Request) -> Principal:
    """The caller's principal; 401 without credentials. Calls ``optional_principal``
    directly rather than as a sub-dependency: each dependency level costs every request."""
    principal = await optional_principal(request)
    if principal is None:
        raise NotAuthenticated("This endpoint needs credentials.")
    return principal


def require(
    *permissions: str, allow_read_only: bool = False, allow_mfa_pending: bool = False
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency giving the principal when it holds every permission named."""

    async def check(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.mfa_enrollment_required and not allow_mfa_pending:
            raise MfaEnrollmentRequired("Enroll in two-factor authentication to continue.")
        for permission in permissions:
            if permission not in principal.permissions:
                raise Forbidden(
                    f"This action needs the {permission!r} permission.",
                    extra={"permission": permission},
                )
        writing = request.method not in SAFE_METHODS
        if (
            writing
            and principal.org_read_only
            and not allow_read_only
            and principal.break_glass_id is None
        ):
            raise ReadOnly("The business is read-only; start a break-glass session to write.")
        return principal

    return check


async def org_unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, bound to the principal's org (RLS on PostgreSQL).
    It may write, so on SQLite it takes the write lock at its first statement."""
    principal = await current_principal(request)
    async with database(request).unit_of_work(principal.org_id) as session:
        yield session


async def org_reader(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only unit of work for the principal's org, for routes that only read: on
    SQLite it reads beside the writers instead of queueing for the write lock; a write
    through it is refused."""
    principal = await current_principal(request)
    async with database(request).reader(principal.org_id) as session:
        yield session


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OrgSession = Annotated[AsyncSession, Depends(org_unit_of_work, scope="function")]
OrgReader = Annotated[AsyncSession, Depends(org_reader, scope="function")]
