"""Emailed single-use links: password resets and invitations to join an org."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import sessions
from servio.domains.identity.accounts import InvalidCredentials, normalize_email
from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import Membership, OneTimeToken, Org, User
from servio.platform.audit import record
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import owned
from servio.platform.email import send_email
from servio.platform.errors import DomainError
from servio.platform.http.context import Client
from servio.platform.security.opaque import digest, new_secret
from servio.platform.security.passwords import (
    check_password_policy,
    hash_password_async,
    verify_password_async,
)

EMAIL_TEMPLATES = Path(__file__).parent / "templates"
"""Identity's email templates (``auth/password_reset``, ``auth/invite``)."""


class InvalidLink(DomainError):
    status = 410
    type = "invalid-link"
    title = "The link is invalid, expired or already used"
    description = "Single-use links work once and expire; ask for a new one."


async def _issue(
    s: AsyncSession, config: AuthConfig, *, purpose: str, email: str, **fields: object
) -> tuple[str, uuid.UUID]:
    """A new link's secret and the id of its row."""
    token = new_secret("", 32)
    ttl = config.reset_ttl if purpose == "reset" else config.invite_ttl
    row = OneTimeToken(
        purpose=purpose,
        token_hash=digest(token),
        email=email,
        expires_at=utcnow() + ttl,
        **fields,
    )
    s.add(row)
    await s.flush()
    return token, row.id


async def _spend(s: AsyncSession, purpose: str, token: str) -> OneTimeToken:
    row = await s.scalar(
        select(OneTimeToken)
        .where(OneTimeToken.token_hash == digest(token[:200]), OneTimeToken.purpose == purpose)
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidLink("This link is invalid, expired or already used.")
    row.used_at = utcnow()
    return row


async def request_reset(db: Database, config: AuthConfig, email: str) -> None:
    """Email a reset link when the account exists; the answer is the same either way."""
    try:
        email = normalize_email(email)
    except DomainError:
        return
    async with db.unit_of_work(system=True) as s:
        user = await s.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is None:
            return
        token, link_id = await _issue(s, config, purpose="reset", email=email, user_id=user.id)
        await send_email(
            s,
            to=email,
            template="auth/password_reset",
            context={
                "link": f"{config.public_url}/reset-password?token={token}",
                "valid_minutes": int(config.reset_ttl.total_seconds() // 60),
            },
            dedupe_key=f"identity.password_reset:{link_id}",
        )


async def reset_password(db: Database, token: str, new_password: str) -> uuid.UUID:
    """Set a new password from a reset link; every session of the account ends."""
    async with db.unit_of_work(system=True) as s:
        row = await _spend(s, "reset", token)
        user = await s.get(User, row.user_id) if row.user_id else None
        if user is None:
            raise InvalidLink("This link is invalid, expired or already used.")
        check_password_policy(new_password, user.email)
        user.password_hash = await hash_password_async(new_password)
        user.password_changed_at = utcnow()
        user.verified = True
        await sessions.revoke_sessions(s, user_id=user.id, reason="password-reset")
        actor = f"user:{user.id}"
        await record(s, org_id=None, actor=actor, action="auth.password.reset", target=actor)
        return user.id


async def change_password(
    s: AsyncSession, user_id: uuid.UUID, keep_session: uuid.UUID | None, current: str, new: str
) -> None:
    user = await s.get(User, user_id, with_for_update=True)
    if user is None or not (await verify_password_async(current, user.password_hash))[0]:
        raise InvalidCredentials("The current password is wrong.")
    check_password_policy(new, user.email)
    user.password_hash = await hash_password_async(new)
    user.password_changed_at = utcnow()
    others = [x.id for x in await sessions.active_sessions(s, user.id) if x.id != keep_session]
    await sessions.revoke_sessions(s, session_ids=others, reason="password-changed")


async def invite(
    s: AsyncSession, config: AuthConfig, *, org: Org, email: str, role: str, invited_by: uuid.UUID
) -> str:
    """Email an invitation; returns the normalized address it went to."""
    email = normalize_email(email)
    token, link_id = await _issue(
        s, config, purpose="invite", email=email, org_id=org.id, role=role
    )
    await send_email(
        s,
        to=email,
        template="auth/invite",
        context={
            "org_name": org.name,
            "role": role.lower(),
            "link": f"{config.public_url}/accept-invite?token={token}",
            "valid_hours": int(config.invite_ttl.total_seconds() // 3600),
        },
        dedupe_key=f"identity.invite:{link_id}",
        org_id=org.id,
    )
    return email


async def accept_invite(
    db: Database, config: AuthConfig, *, token: str, password: str, client: Client
) -> sessions.TokenPair:
    """Join the org; a new account sets its password, an existing one proves it."""
    async with db.unit_of_work(system=True) as s:
        row = await _spend(s, "invite", token)
        assert row.org_id is not None
        assert row.role is not None
        user = await s.scalar(select(User).where(User.email == row.email))
        if user is None:
            check_password_policy(password, row.email)
            user = User(
                email=row.email, password_hash=await hash_password_async(password), verified=True
            )
            s.add(user)
            await s.flush()
        elif not (await verify_password_async(password, user.password_hash))[0]:
            raise InvalidCredentials("Enter the existing account's password to join.")
        member = await s.scalar(owned(Membership, row.org_id).where(Membership.user_id == user.id))
        if member is None:
            s.add(Membership(org_id=row.org_id, user_id=user.id, role=row.role))
        else:
            member.active, member.role = True, row.role
        await s.flush()
        actor = f"user:{user.id}"
        await record(
            s,
            org_id=row.org_id,
            actor=actor,
            action="iam.invite.accepted",
            target=actor,
            ip=client.ip,
            after={"role": row.role},
        )
        return await sessions.start_session(
            s,
            config,
            user_id=user.id,
            org_id=row.org_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
