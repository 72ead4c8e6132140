"""``/v1/auth/2fa``: TOTP enrollment, confirmation, disabling and the login step."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from servio.domains.identity import lockout, mfa
from servio.domains.identity.deps import ClientInfo, Config, Db, token_out
from servio.domains.identity.models import Org, User
from servio.domains.identity.schemas import (
    CodeIn,
    EnrollOut,
    MfaVerifyIn,
    RecoveryCodesOut,
    TokenOut,
)
from servio.domains.identity.trail import trail
from servio.platform.db import Database
from servio.platform.http.auth import Forbidden, require
from servio.platform.http.context import Client
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/auth/2fa", tags=["auth"], route_class=JsonRoute)
Member = Annotated[Principal, Depends(require(allow_read_only=True, allow_mfa_pending=True))]


def _person(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden("Two-factor authentication belongs to people, not API keys.")
    return principal.user_id


@asynccontextmanager
async def _throttled(db: Database, principal: Principal, client: Client) -> AsyncIterator[None]:
    """Wrong codes count towards the account's lockout, as at sign-in."""
    email = principal.extra.get("email", "")
    await lockout.check(db, email, client.ip)
    try:
        yield
    except mfa.InvalidMfaCode:
        await lockout.record_failure(db, email, client.ip)
        raise


@router.post(
    "/enroll",
    summary="Start TOTP enrollment: secret, otpauth URI and QR code (SVG)",
    responses=problem_responses(401, 409),
)
async def enroll(principal: Member, db: Db) -> EnrollOut:
    async with db.unit_of_work(system=True) as s:
        got = await mfa.enroll(s, _person(principal))
    return EnrollOut(secret=got.secret, otpauth_uri=got.otpauth_uri, qr_svg=got.qr_svg)


@router.post(
    "/confirm",
    summary="Turn TOTP on with a first code; returns 10 recovery codes once",
    responses=problem_responses(401, 409, 422),
)
async def confirm(body: CodeIn, principal: Member, db: Db, client: ClientInfo) -> RecoveryCodesOut:
    async with _throttled(db, principal, client), db.unit_of_work(system=True) as s:
        codes = await mfa.confirm(s, _person(principal), body.code)
        await trail(s, principal, "auth.mfa.enabled", principal.actor, ip=client.ip)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/disable",
    status_code=204,
    summary="Turn TOTP off (needs a current or recovery code)",
    responses=problem_responses(401, 409, 422),
)
async def disable(body: CodeIn, principal: Member, db: Db, client: ClientInfo) -> Response:
    async with _throttled(db, principal, client), db.unit_of_work(system=True) as s:
        await mfa.disable(s, _person(principal), body.code)
        await trail(s, principal, "auth.mfa.disabled", principal.actor, ip=client.ip)
    return Response(status_code=204)


@router.post(
    "/verify",
    summary="Complete an MFA sign-in with the mfa_token and a code",
    responses=problem_responses(401, 422, 429),
)
async def verify(
    body: MfaVerifyIn, response: Response, db: Db, config: Config, client: ClientInfo
) -> TokenOut:
    pair = await mfa.complete_login(
        db, config, mfa_token=body.mfa_token, code=body.code, client=client
    )
    async with db.unit_of_work(system=True) as s:
        user, org = await s.get(User, pair.user_id), await s.get(Org, pair.org_id)
    return token_out(response, config, pair, user, org)
