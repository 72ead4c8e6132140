"""Turns a request's credentials into a ``Principal``: bearer access token, session
cookie, API key (``Authorization: Bearer svk_…`` or ``X-Admin-API-Key``) or, in
development only, HTTP Basic for an admin of the default business
(``SERVIO_BASIC_ADMIN_*``)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from sqlalchemy import select
from starlette.types import Scope

from servio.domains.identity import api_keys
from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import (
    ApiKey,
    AuthSession,
    BreakGlassGrant,
    Membership,
    Org,
    OrgSetting,
    User,
)
from servio.domains.identity.permissions import MFA_ROLES, Role, permissions_of
from servio.platform.audit import record
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import in_org
from servio.platform.errors import DomainError
from servio.platform.http.auth import SAFE_METHODS
from servio.platform.security.opaque import digest, same
from servio.platform.security.principal import Principal
from servio.platform.security.tokens import InvalidToken

ACCESS_COOKIE = "servio_access"
BREAK_GLASS_HEADER = "x-break-glass"
ADMIN_PATHS = ("/admin/", "/v1/admin/")


class InvalidApiKey(DomainError):
    status = 401
    type = "invalid-api-key"
    title = "The API key is not valid"


class ApiKeyRefused(DomainError):
    status = 403
    type = "api-key-refused"
    title = "The API key is not valid for admin routes"
    description = "Admin routes answer 403 to a wrong, revoked or expired key."


def _names(org: Org, user: User | None) -> dict[str, str]:
    """What ``/v1/auth/me`` shows, carried so it needs no second query."""
    names = {"org_slug": org.slug, "org_name": org.name}
    if user is not None:
        names |= {"email": user.email, "mfa_enabled": "yes" if user.mfa_enabled else ""}
    return names


ORG_RATE_SETTING = "rate_limit.authenticated"
ORG_RATE_TTL = 60.0


def _sent_as(principal: Principal, via_cookie: bool) -> Principal:
    """The cached principal, as the credential arrived this time (cookie or header)."""
    if principal.via_cookie == via_cookie:
        return principal
    return replace(principal, via_cookie=via_cookie)


class IdentityAuthenticator:
    def __init__(self, db: Database, config: AuthConfig, settings: Settings) -> None:
        self.db = db
        self.config = config
        self.settings = settings
        self._org_rates: dict[uuid.UUID, tuple[float, str]] = {}
        # Sessions checked recently, by token: revocations, role changes and read-only
        # switches take effect within ``principal_cache_seconds`` (0 = every request).
        self._recent: dict[str, tuple[float, Principal]] = {}
        # One check per token at a time: when a cached principal expires under load,
        # the requests holding that token wait for one lookup instead of each running it.
        self._checking: dict[str, asyncio.Future[tuple[float, Principal]]] = {}

    async def _org_rate(self, s: Any, org_id: uuid.UUID) -> str:
        """The org's own per-principal rate (setting ``rate_limit.authenticated``), read
        at most once a minute per org; empty = the deployment default."""
        cached = self._org_rates.get(org_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        value = await s.scalar(
            select(OrgSetting.value).where(
                in_org(OrgSetting, org_id), OrgSetting.key == ORG_RATE_SETTING
            )
        )
        rate = str(value) if value else ""
        self._org_rates[org_id] = (time.monotonic() + ORG_RATE_TTL, rate)
        return rate

    async def authenticate(self, request: Request) -> Principal | None:
        admin_key = request.headers.get("x-admin-api-key")
        if admin_key is not None:
            return await self._api_key(request, admin_key)
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and credential.strip():
            credential = credential.strip()
            if credential.startswith(api_keys.KEY_PREFIX):
                return await self._api_key(request, credential)
            return await self._access(request, credential, via_cookie=False)
        if scheme == "basic" and self.settings.basic_admin_enabled and self.settings.env != "prod":
            return await self._basic(credential)
        if scheme and scheme not in ("bearer", "basic"):
            raise InvalidToken("Use the Bearer scheme.")
        cookie = request.cookies.get(ACCESS_COOKIE)
        if cookie:
            return await self._access(request, cookie, via_cookie=True)
        return None

    async def _api_key(self, request: Request, key: str) -> Principal:
        async with self.db.unit_of_work(system=True) as s:
            row = await api_keys.find_valid(s, key.strip())
            org = await s.get(Org, row.org_id) if row is not None else None
            held = await self._creator_permissions(s, row) if row is not None else None
            rate = await self._org_rate(s, row.org_id) if row is not None else ""
        if row is None or org is None or held is None:
            if request.url.path.startswith(ADMIN_PATHS):
                raise ApiKeyRefused("The API key is wrong, revoked or expired.")
            raise InvalidApiKey("The API key is wrong, revoked or expired.")
        return Principal(
            kind="api_key",
            id=row.id,
            org_id=row.org_id,
            permissions=frozenset(row.permissions) & held,
            org_read_only=org.read_only,
            extra=_names(org, None) | ({"rate_limit": rate} if rate else {}),
        )

    async def _access(self, request: Request, token: str, *, via_cookie: bool) -> Principal:
        ttl = self.settings.principal_cache_seconds
        if not ttl or BREAK_GLASS_HEADER in request.headers:
            return (await self._check_session(request, token, via_cookie=via_cookie))[1]
        hit = self._recent.get(token)
        if hit is not None and hit[0] > time.monotonic():
            return _sent_as(hit[1], via_cookie)
        pending = self._checking.get(token)
        if pending is not None:
            try:
                return _sent_as((await asyncio.shield(pending))[1], via_cookie)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself went away
            return await self._access(request, token, via_cookie=via_cookie)  # its checker did
        pending = asyncio.get_running_loop().create_future()
        self._checking[token] = pending
        try:
            expires, principal = await self._check_session(request, token, via_cookie=via_cookie)
        except asyncio.CancelledError:
            pending.cancel()
            raise
        except Exception as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved here, so no waiter is needed to consume it
            raise
        else:
            pending.set_result((expires, principal))
        finally:
            self._checking.pop(token, None)
        if len(self._recent) > 10_000:
            self._recent.clear()
        # Kept for the cache time, never past the token's own expiry.
        self._recent[token] = (min(time.monotonic() + ttl, expires), principal)
        return principal

    async def _check_session(
        self, request: Request, token: str, *, via_cookie: bool
    ) -> tuple[float, Principal]:
        """The principal of a valid access token, and the monotonic time it expires."""
        claims = self.config.keys.verify(token, purpose="access")
        expires = time.monotonic() + (float(claims.get("exp", 0)) - utcnow().timestamp())
        try:
            sid, org_id = uuid.UUID(claims["sid"]), uuid.UUID(claims["org"])
        except (KeyError, ValueError) as exc:
            raise InvalidToken("The token's claims are not valid.") from exc
        async with self.db.unit_of_work(system=True) as s:
            row = (
                await s.execute(
                    select(AuthSession, Membership, Org, User)
                    .join(User, User.id == AuthSession.user_id)
                    .join(Org, Org.id == AuthSession.org_id)
                    .join(
                        Membership,
                        (Membership.user_id == AuthSession.user_id)
                        & (Membership.org_id == AuthSession.org_id),
                    )
                    .where(AuthSession.id == sid, in_org(AuthSession, org_id))
                )
            ).one_or_none()
            if row is None:
                raise InvalidToken("The session does not exist.")
            session, member, org, user = row
            if session.revoked_at is not None or session.expires_at <= utcnow():
                raise InvalidToken("The session has ended; sign in again.")
            if not (user.is_active and member.active):
                raise InvalidToken("The account can no longer sign in to this business.")
            permissions = permissions_of(member.role)
            # Only a request that passed every check above counts as a break-glass use.
            grant = await self._break_glass(s, request, claims, permissions)
            rate = await self._org_rate(s, org_id)
        return expires, Principal(
            kind="user",
            id=user.id,
            user_id=user.id,
            org_id=org.id,
            role=member.role,
            permissions=permissions,
            session_id=session.id,
            via_cookie=via_cookie,
            org_read_only=org.read_only,
            break_glass_id=grant,
            mfa_enrollment_required=(
                org.require_mfa and Role(member.role) in MFA_ROLES and not user.mfa_enabled
            ),
            extra=_names(org, user) | ({"rate_limit": rate} if rate else {}),
        )

    @staticmethod
    async def _creator_permissions(s: Any, row: ApiKey) -> frozenset[str] | None:
        """What the key's creator may do today: a key never exceeds its creator, so a
        deactivated creator's keys stop and a demoted creator's keys shrink."""
        if row.created_by is None:
            return frozenset(row.permissions)  # made by another key, bounded at creation
        found = (
            await s.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(in_org(Membership, row.org_id), Membership.user_id == row.created_by)
            )
        ).one_or_none()
        if found is None or not (found[0].active and found[1].is_active):
            return None
        return permissions_of(found[0].role)

    async def _break_glass(
        self, s: Any, request: Request, claims: dict[str, Any], permissions: frozenset[str]
    ) -> uuid.UUID | None:
        token = request.headers.get(BREAK_GLASS_HEADER)
        if not token:
            return None
        if "break_glass:use" not in permissions:
            raise InvalidToken("The break-glass grant no longer applies to this role.")
        grant_claims = self.config.keys.verify(token, purpose="break_glass")
        mine = all(grant_claims.get(k) == claims[k] for k in ("sub", "org", "sid"))
        if not mine:
            raise InvalidToken("The break-glass token belongs to another session.")
        grant = await s.get(BreakGlassGrant, uuid.UUID(grant_claims["gid"]), with_for_update=True)
        if grant is None or grant.expires_at <= utcnow():
            raise InvalidToken("The break-glass grant has expired.")
        if request.method not in SAFE_METHODS:
            grant.uses += 1
            await record(
                s,
                org_id=grant.org_id,
                actor=f"user:{grant.user_id}",
                action="break_glass.used",
                target=f"{request.method} {request.url.path}",
                ip=request.client.host if request.client else None,
                after={"grant": str(grant.id), "use": grant.uses},
            )
        return grant.id  # type: ignore[no-any-return]

    async def _basic(self, credential: str) -> Principal:
        try:
            user, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidToken("Malformed Basic credentials.") from exc
        expected = self.settings.basic_admin_password
        if (
            expected is None
            or not self.settings.default_org
            or not same(user, self.settings.basic_admin_user)
            or not same(password, expected.get_secret_value())
        ):
            raise InvalidToken("Wrong admin user or password.")
        async with self.db.unit_of_work(system=True) as s:
            org = await s.scalar(select(Org).where(Org.slug == self.settings.default_org))
        if org is None:
            raise InvalidToken("SERVIO_DEFAULT_ORG names no business.")
        return Principal(
            kind="basic_admin",
            id=org.id,
            org_id=org.id,
            role=Role.ADMIN.value,
            permissions=permissions_of(Role.ADMIN.value),
            org_read_only=org.read_only,
            extra=_names(org, None),
        )


def idempotency_scope(config: AuthConfig) -> Callable[[Scope], Awaitable[str | None]]:
    """Who an ``Idempotency-Key`` belongs to, from credentials checked without a query:
    the org and user of a valid access token, the digest of an API key (only its holder
    can produce it), or the org a public request names plus the client address. Invalid
    credentials give None: the request fails authentication anyway."""

    async def scope_of(scope: Scope) -> str | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        key = headers.get("x-admin-api-key")
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if key is None and scheme.lower() == "bearer":
            key = credential.strip()
        if key and key.startswith(api_keys.KEY_PREFIX):
            return f"api_key:{digest(key)}"
        token = key or _cookie(headers.get("cookie", ""), ACCESS_COOKIE)
        if token:
            try:
                claims = config.keys.verify(token, purpose="access")
            except InvalidToken:
                return None
            return f"org:{claims['org']}:user:{claims['sub']}"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        client = scope.get("client") or ("-", 0)
        return f"public:{query.get('org', ['-'])[0]}:{client[0]}"

    return scope_of


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
