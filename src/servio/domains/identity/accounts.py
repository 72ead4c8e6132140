"""Accounts: sign-up, sign-in (with lockout and the MFA step), org switching."""

from __future__ import annotations

import re
import secrets
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import lockout, sessions
from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import Membership, Org, User
from servio.domains.identity.permissions import Role
from servio.domains.identity.service import ensure_org
from servio.domains.identity.trail import trail_apart
from servio.platform.audit import record
from servio.platform.db import Database
from servio.platform.errors import Conflict, DomainError
from servio.platform.http.context import Client
from servio.platform.security.passwords import (
    burn_verify_time_async,
    check_password_policy,
    hash_password_async,
    verify_password_async,
)


class InvalidEmail(DomainError):
    status = 422
    type = "invalid-email"
    title = "The email address is not valid"


class EmailTaken(Conflict):
    type = "email-taken"
    title = "An account with this email exists"
    description = "Sign in instead, or reset the password."


class InvalidCredentials(DomainError):
    status = 401
    type = "invalid-credentials"
    title = "Wrong email or password"
    description = "The same answer for an unknown email and a wrong password."


class MfaRequired(DomainError):
    status = 401
    type = "mfa-required"
    title = "Two-factor code required"
    description = "Send `mfa_token` and a TOTP or recovery code to POST /v1/auth/2fa/verify."


class NoMembership(DomainError):
    status = 403
    type = "no-membership"
    title = "Not a member of that business"


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc), extra={"field": "email"}) from exc


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug if len(slug) >= 2 else f"org-{slug}".strip("-")


async def _free_slug(s: AsyncSession, name: str) -> str:
    base = slugify(name)
    slug = base
    while await s.scalar(select(Org.id).where(Org.slug == slug)) is not None:
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


async def register(
    db: Database,
    config: AuthConfig,
    *,
    email: str,
    password: str,
    org_name: str,
    vertical: str,
    timezone: str,
    currency: str,
    client: Client,
) -> tuple[User, Org, sessions.TokenPair]:
    """A new user owning a new org, signed in."""
    email = normalize_email(email)
    check_password_policy(password, email)
    password_hash = await hash_password_async(password)
    async with db.unit_of_work(system=True) as s:
        if await s.scalar(select(User.id).where(User.email == email)) is not None:
            raise EmailTaken("An account with this email already exists.")
        org = await ensure_org(
            s,
            slug=await _free_slug(s, org_name),
            name=org_name.strip(),
            vertical=vertical,
            timezone=timezone,
            currency=currency,
        )
        user = User(email=email, password_hash=password_hash)
        s.add(user)
        await s.flush()
        s.add(Membership(org_id=org.id, user_id=user.id, role=Role.OWNER.value))
        actor = f"user:{user.id}"
        await record(
            s, org_id=org.id, actor=actor, action="auth.registered", target=actor, ip=client.ip
        )
        pair = await sessions.start_session(
            s, config, user_id=user.id, org_id=org.id, ip=client.ip, user_agent=client.user_agent
        )
    return user, org, pair


async def first_org(s: AsyncSession, user_id: uuid.UUID, slug: str | None) -> uuid.UUID:
    stmt = (
        select(Membership.org_id)
        .join(Org, Org.id == Membership.org_id)
        .where(Membership.user_id == user_id, Membership.active.is_(True))
        .order_by(Membership.created_at)
    )
    if slug:
        stmt = stmt.where(Org.slug == slug)
    org_id = await s.scalar(stmt.limit(1))
    if org_id is None:
        raise NoMembership("This account is not an active member of that business.")
    return org_id


async def check_password(db: Database, email: str, password: str, client: Client) -> User:
    """The active user with this email and password; counts failures and locks out."""
    await lockout.check(db, email, client.ip)
    async with db.unit_of_work(system=True) as s:
        user = await s.scalar(select(User).where(User.email == email))
        ok, new_hash = (False, None)
        if user is None:
            await burn_verify_time_async(password)
        else:
            ok, new_hash = await verify_password_async(password, user.password_hash)
            if ok and new_hash:
                user.password_hash = new_hash
    if user is None or not ok or not user.is_active:
        await lockout.record_failure(db, email, client.ip)
        await trail_apart(
            db,
            org_id=None,
            actor="anonymous",
            action="auth.login.failed",
            target=f"account:{email}",
            ip=client.ip,
        )
        raise InvalidCredentials("Wrong email or password.")
    await lockout.record_success(db, email)
    return user


async def login(
    db: Database,
    config: AuthConfig,
    *,
    email: str,
    password: str,
    org_slug: str | None,
    client: Client,
) -> sessions.TokenPair:
    try:
        email = normalize_email(email)
    except InvalidEmail:
        email = email.strip().lower()[:320]
    user = await check_password(db, email, password, client)
    async with db.unit_of_work(system=True) as s:
        org_id = await first_org(s, user.id, org_slug)
        if user.mfa_enabled:
            claims = {"sub": str(user.id), "org": str(org_id)}
            token = config.keys.issue(claims, config.mfa_ttl, purpose="mfa")
            raise MfaRequired(
                "Enter the code from the authenticator app.", extra={"mfa_token": token}
            )
        pair = await sessions.start_session(
            s, config, user_id=user.id, org_id=org_id, ip=client.ip, user_agent=client.user_agent
        )
        actor = f"user:{user.id}"
        await record(s, org_id=org_id, actor=actor, action="auth.login", target=actor, ip=client.ip)
        return pair


async def switch_org(
    db: Database,
    config: AuthConfig,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    org_slug: str,
    client: Client,
) -> sessions.TokenPair:
    """A session for another org the user belongs to; the current one ends."""
    async with db.unit_of_work(system=True) as s:
        org_id = await first_org(s, user_id, org_slug)
        if session_id is not None:
            await sessions.revoke_sessions(s, session_ids=[session_id], reason="switched-org")
        return await sessions.start_session(
            s, config, user_id=user_id, org_id=org_id, ip=client.ip, user_agent=client.user_agent
        )
