"""Two-factor authentication with TOTP and single-use recovery codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import lockout, sessions
from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import RecoveryCode, User
from servio.domains.identity.trail import trail_apart
from servio.platform.audit import record
from servio.platform.db import Database, utcnow
from servio.platform.errors import Conflict, DomainError
from servio.platform.http.context import Client
from servio.platform.security import totp


class InvalidMfaCode(DomainError):
    status = 401
    type = "invalid-mfa-code"
    title = "The two-factor code is not valid"
    description = "The code is wrong, expired, already used, or not a recovery code of yours."


class MfaNotEnrolled(Conflict):
    type = "mfa-not-enrolled"
    title = "Two-factor authentication is not set up"


class MfaAlreadyEnabled(Conflict):
    type = "mfa-already-enabled"
    title = "Two-factor authentication is already on"


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_svg: str


async def _user(s: AsyncSession, user_id: uuid.UUID) -> User:
    user = await s.get(User, user_id, with_for_update=True)
    if user is None:
        raise MfaNotEnrolled("No such user.")
    return user


async def enroll(s: AsyncSession, user_id: uuid.UUID) -> Enrollment:
    """A new secret, pending until a code from it is confirmed."""
    user = await _user(s, user_id)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled("Disable two-factor authentication before enrolling again.")
    user.mfa_secret = totp.new_totp_secret()
    user.mfa_last_step = None
    uri = totp.provisioning_uri(user.mfa_secret, user.email)
    return Enrollment(secret=user.mfa_secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def _accept_totp(user: User, code: str) -> bool:
    if not user.mfa_secret:
        return False
    step = totp.matching_step(user.mfa_secret, code, last_step=user.mfa_last_step)
    if step is None:
        return False
    user.mfa_last_step = step
    return True


async def _accept_recovery(s: AsyncSession, user: User, code: str) -> bool:
    row = await s.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.recovery_digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


async def confirm(s: AsyncSession, user_id: uuid.UUID, code: str) -> list[str]:
    """Turn MFA on with a first valid code; returns the recovery codes, shown once."""
    user = await _user(s, user_id)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled("Two-factor authentication is already on.")
    if not user.mfa_secret:
        raise MfaNotEnrolled("Start with POST /v1/auth/2fa/enroll.")
    if not _accept_totp(user, code):
        raise InvalidMfaCode("That code is not valid for the pending secret.")
    user.mfa_enabled = True
    codes = totp.new_recovery_codes()
    await s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    s.add_all(RecoveryCode(user_id=user.id, code_hash=totp.recovery_digest(c)) for c in codes)
    return codes


async def disable(s: AsyncSession, user_id: uuid.UUID, code: str) -> None:
    user = await _user(s, user_id)
    if not user.mfa_enabled:
        raise MfaNotEnrolled("Two-factor authentication is not on.")
    if not (_accept_totp(user, code) or await _accept_recovery(s, user, code)):
        raise InvalidMfaCode("A current code or an unused recovery code is needed to disable.")
    user.mfa_enabled = False
    user.mfa_secret = None
    user.mfa_last_step = None
    await s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def complete_login(
    db: Database, config: AuthConfig, *, mfa_token: str, code: str, client: Client
) -> sessions.TokenPair:
    """The second step of an MFA sign-in; wrong codes count towards the lockout."""
    claims = config.keys.verify(mfa_token, purpose="mfa")
    user_id, org_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["org"])
    async with db.unit_of_work(system=True) as s:
        email = (await _user(s, user_id)).email
    await lockout.check(db, email, client.ip)
    async with db.unit_of_work(system=True) as s:
        user = await _user(s, user_id)
        ok = user.mfa_enabled and (
            _accept_totp(user, code) or await _accept_recovery(s, user, code)
        )
        actor = f"user:{user_id}"
        if ok:
            await record(
                s, org_id=org_id, actor=actor, action="auth.login.mfa", target=actor, ip=client.ip
            )
            return await sessions.start_session(
                s,
                config,
                user_id=user_id,
                org_id=org_id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
    await lockout.record_failure(db, email, client.ip)
    await trail_apart(
        db, org_id=org_id, actor=actor, action="auth.mfa.failed", target=actor, ip=client.ip
    )
    raise InvalidMfaCode("That code is not valid.")


async def recovery_codes_left(s: AsyncSession, user_id: uuid.UUID) -> int:
    rows = await s.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))
