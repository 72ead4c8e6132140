"""Signed-in sessions: access tokens, rotating refresh tokens, revocation.

A session is one family of refresh tokens. Each refresh spends its token and issues the
next; presenting a spent token again means it leaked, so the whole family is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import AuthSession, Membership, RefreshToken, User
from servio.platform.audit import record
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import in_org, owned
from servio.platform.errors import DomainError
from servio.platform.security.opaque import digest, new_secret
from servio.platform.security.tokens import InvalidToken

REFRESH_PREFIX = "rt_"


class RefreshTokenReused(DomainError):
    status = 401
    type = "refresh-token-reused"
    title = "The refresh token was already used"
    description = "A spent refresh token came back; the session is revoked. Sign in again."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    user_id: uuid.UUID
    org_id: uuid.UUID


def access_token(config: AuthConfig, session: AuthSession) -> str:
    claims = {"sub": str(session.user_id), "org": str(session.org_id), "sid": str(session.id)}
    return config.keys.issue(claims, config.access_ttl, purpose="access")


async def _new_refresh(db_session: AsyncSession, config: AuthConfig, session: AuthSession) -> str:
    token = new_secret(REFRESH_PREFIX)
    db_session.add(
        RefreshToken(
            session_id=session.id,
            token_hash=digest(token),
            expires_at=utcnow() + config.refresh_ttl,
        )
    )
    await db_session.flush()
    return token


def _pair(config: AuthConfig, session: AuthSession, refresh: str) -> TokenPair:
    return TokenPair(
        access_token=access_token(config, session),
        refresh_token=refresh,
        expires_in=int(config.access_ttl.total_seconds()),
        session_id=session.id,
        user_id=session.user_id,
        org_id=session.org_id,
    )


async def start_session(
    db_session: AsyncSession,
    config: AuthConfig,
    *,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    ip: str | None,
    user_agent: str | None,
) -> TokenPair:
    session = AuthSession(
        user_id=user_id,
        org_id=org_id,
        expires_at=utcnow() + config.refresh_ttl,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    db_session.add(session)
    await db_session.flush()
    return _pair(config, session, await _new_refresh(db_session, config, session))


async def refresh(db: Database, config: AuthConfig, token: str) -> TokenPair:
    """Spend ``token`` and issue the next pair; a spent token revokes its family."""
    if not token.startswith(REFRESH_PREFIX) or len(token) > 200:
        raise InvalidToken("The refresh token is malformed.")
    reused: uuid.UUID | None = None
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == digest(token)).with_for_update()
        )
        if row is None:
            raise InvalidToken("The refresh token is not known.")
        session = await s.get(AuthSession, row.session_id, with_for_update=True)
        now = utcnow()
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise InvalidToken("The session has ended; sign in again.")
        if row.used_at is not None:
            reused = session.id
        elif row.expires_at <= now:
            raise InvalidToken("The refresh token has expired.")
        else:
            await _check_member(s, session)
            row.used_at = now
            session.last_seen_at = now
            pair = _pair(config, session, await _new_refresh(s, config, session))
    if reused is not None:
        async with db.unit_of_work(system=True) as s:
            await revoke_sessions(s, session_ids=[reused], reason="refresh-reused")
            await record(
                s,
                org_id=session.org_id,
                actor=f"user:{session.user_id}",
                action="auth.refresh.reused",
                target=f"session:{reused}",
                after={"revoked": "session family"},
            )
        raise RefreshTokenReused("This refresh token was already used; the session is revoked.")
    return pair


async def _check_member(s: AsyncSession, session: AuthSession) -> None:
    user = await s.get(User, session.user_id)
    member = await s.scalar(
        owned(Membership, session.org_id).where(Membership.user_id == session.user_id)
    )
    if user is None or not user.is_active or member is None or not member.active:
        raise InvalidToken("The account can no longer sign in to this business.")


async def revoke_sessions(
    s: AsyncSession,
    *,
    session_ids: list[uuid.UUID] | None = None,
    user_id: uuid.UUID | None = None,
    org_id: uuid.UUID | None = None,
    reason: str,
) -> int:
    """End sessions by id, or every session of a user (in one org when given)."""
    stmt = update(AuthSession).where(AuthSession.revoked_at.is_(None))
    if session_ids is not None:
        stmt = stmt.where(AuthSession.id.in_(session_ids))
    if user_id is not None:
        stmt = stmt.where(AuthSession.user_id == user_id)
    if org_id is not None:
        stmt = stmt.where(in_org(AuthSession, org_id))
    result = await s.execute(
        stmt.values(revoked_at=utcnow(), revoked_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def active_sessions(s: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    rows = await s.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.last_seen_at.desc())
    )
    return list(rows)
