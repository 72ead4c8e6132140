"""``/v1/auth``: sign-up, sign-in, tokens, sessions, passwords and two-factor."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from servio.domains.identity import accounts, links, sessions
from servio.domains.identity.deps import (
    REFRESH_COOKIE,
    ClientInfo,
    Config,
    Db,
    clear_session_cookies,
    token_out,
)
from servio.domains.identity.models import AuthSession, Org, User
from servio.domains.identity.schemas import (
    AcceptInviteIn,
    LoginIn,
    MeOut,
    OrgRef,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    ResetIn,
    ResetRequestIn,
    SessionOut,
    SwitchOrgIn,
    TokenOut,
    UserRef,
)
from servio.domains.identity.trail import trail
from servio.platform.errors import NotFound
from servio.platform.http.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    CsrfFailed,
    require,
)
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.opaque import same
from servio.platform.security.principal import Principal
from servio.platform.security.tokens import InvalidToken

router = APIRouter(prefix="/v1/auth", tags=["auth"], route_class=JsonRoute)
member = require(allow_read_only=True, allow_mfa_pending=True)
Member = Annotated[Principal, Depends(member)]


class SessionNotFound(NotFound):
    type = "session-not-found"
    title = "No such session"


@router.post(
    "/register",
    status_code=201,
    summary="Create an account and its business; the caller becomes OWNER",
    responses=problem_responses(409, 422),
)
async def register(
    body: RegisterIn, response: Response, db: Db, config: Config, client: ClientInfo
) -> TokenOut:
    user, org, pair = await accounts.register(
        db,
        config,
        email=body.email,
        password=body.password,
        org_name=body.org_name,
        vertical=body.vertical,
        timezone=body.timezone,
        currency=body.currency,
        client=client,
    )
    return token_out(response, config, pair, user, org)


async def _named(db: Db, pair: sessions.TokenPair) -> tuple[User | None, Org | None]:
    async with db.unit_of_work(system=True) as s:
        return await s.get(User, pair.user_id), await s.get(Org, pair.org_id)


@router.post(
    "/login",
    summary="Sign in with email and password",
    responses=problem_responses(401, 403, 422, 429),
)
async def login(
    body: LoginIn, response: Response, db: Db, config: Config, client: ClientInfo
) -> TokenOut:
    pair = await accounts.login(
        db, config, email=body.email, password=body.password, org_slug=body.org, client=client
    )
    return token_out(response, config, pair, *await _named(db, pair))


@router.post(
    "/refresh",
    summary="Trade a refresh token for a new pair (the old one is spent)",
    responses=problem_responses(401, 403, 422),
)
async def refresh(
    body: RefreshIn, request: Request, response: Response, db: Db, config: Config
) -> TokenOut:
    token = body.refresh_token
    if token is None:
        token = request.cookies.get(REFRESH_COOKIE)
        sent, cookie = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
        if token and not (sent and cookie and same(sent, cookie)):
            raise CsrfFailed("Send the servio_csrf cookie's value in the X-CSRF-Token header.")
    if not token:
        raise InvalidToken("Send refresh_token in the body or the session cookie.")
    pair = await sessions.refresh(db, config, token)
    return token_out(response, config, pair, *await _named(db, pair))


@router.post(
    "/logout", status_code=204, summary="End the current session", responses=problem_responses(401)
)
async def logout(principal: Member, db: Db, response: Response, client: ClientInfo) -> Response:
    if principal.session_id is not None:
        async with db.unit_of_work(system=True) as s:
            await sessions.revoke_sessions(s, session_ids=[principal.session_id], reason="logout")
            await trail(
                s, principal, "auth.logout", f"session:{principal.session_id}", ip=client.ip
            )
    response.status_code = 204
    clear_session_cookies(response)
    return response


@router.get(
    "/me",
    summary="Who am I: user, current org, role, permissions",
    response_model=MeOut,
    responses=problem_responses(401),
    openapi_extra={"security": [{"bearerAuth": []}, {"adminApiKey": []}]},
)
async def me(request: Request) -> Response:
    """The most frequent call of every client, kept lean: the principal is checked by a
    direct call rather than a dependency, and the answer is serialised once, here."""
    principal = await member(request)
    names = principal.extra
    out = MeOut(
        user=UserRef(id=principal.user_id, email=names["email"]) if principal.user_id else None,
        org=OrgRef(id=principal.org_id, slug=names["org_slug"], name=names["org_name"]),
        role=principal.role,
        permissions=sorted(principal.permissions),
        principal=principal.actor,
        mfa_enabled=bool(names.get("mfa_enabled")),
        mfa_enrollment_required=principal.mfa_enrollment_required,
    )
    return Response(out.model_dump_json(), media_type="application/json")


def _user_id(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise SessionNotFound("Only signed-in people have sessions.")
    return principal.user_id


@router.get("/sessions", summary="My signed-in sessions", responses=problem_responses(401))
async def list_sessions(principal: Member, db: Db) -> list[SessionOut]:
    async with db.unit_of_work(system=True) as s:
        rows = await sessions.active_sessions(s, _user_id(principal))
    return [
        SessionOut.model_validate(
            {
                **{c: getattr(r, c) for c in SessionOut.model_fields if c != "current"},
                "current": r.id == principal.session_id,
            }
        )
        for r in rows
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    summary="End one of my sessions",
    responses=problem_responses(401, 404),
)
async def end_session(session_id: uuid.UUID, principal: Member, db: Db) -> Response:
    async with db.unit_of_work(system=True) as s:
        owned = await s.scalar(
            select(AuthSession.id).where(
                AuthSession.id == session_id, AuthSession.user_id == _user_id(principal)
            )
        )
        if owned is None:
            raise SessionNotFound("No such session of yours.")
        await sessions.revoke_sessions(s, session_ids=[session_id], reason="ended-by-user")
    return Response(status_code=204)


@router.post(
    "/switch-org",
    summary="Sign in to another business I belong to",
    responses=problem_responses(401, 403, 422),
)
async def switch_org(
    body: SwitchOrgIn,
    principal: Member,
    response: Response,
    db: Db,
    config: Config,
    client: ClientInfo,
) -> TokenOut:
    pair = await accounts.switch_org(
        db,
        config,
        user_id=_user_id(principal),
        session_id=principal.session_id,
        org_slug=body.org,
        client=client,
    )
    return token_out(response, config, pair, *await _named(db, pair))


@router.post(
    "/password",
    status_code=204,
    summary="Change my password (other sessions end)",
    responses=problem_responses(401, 422),
)
async def change_password(
    body: PasswordChangeIn, principal: Member, db: Db, client: ClientInfo
) -> Response:
    async with db.unit_of_work(system=True) as s:
        await links.change_password(
            s, _user_id(principal), principal.session_id, body.current_password, body.new_password
        )
        await trail(s, principal, "auth.password.changed", principal.actor, ip=client.ip)
    return Response(status_code=204)


@router.post(
    "/password/reset-request",
    status_code=202,
    summary="Email a single-use reset link (same answer whether or not the account exists)",
    responses=problem_responses(422),
)
async def request_reset(body: ResetRequestIn, db: Db, config: Config) -> dict[str, str]:
    await links.request_reset(db, config, body.email)
    return {"status": "If the account exists, a reset link is on its way."}


@router.post(
    "/password/reset",
    status_code=204,
    summary="Set a new password with the emailed link (all sessions end)",
    responses=problem_responses(410, 422),
)
async def reset_password(body: ResetIn, db: Db) -> Response:
    await links.reset_password(db, body.token, body.new_password)
    return Response(status_code=204)


@router.post(
    "/invites/accept",
    summary="Join a business with an emailed invitation",
    responses=problem_responses(401, 410, 422),
)
async def accept_invite(
    body: AcceptInviteIn, response: Response, db: Db, config: Config, client: ClientInfo
) -> TokenOut:
    pair = await links.accept_invite(
        db, config, token=body.token, password=body.password, client=client
    )
    return token_out(response, config, pair, *await _named(db, pair))
