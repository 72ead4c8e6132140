"""``/v1/iam`` and ``/v1/api-keys``: the team and machine credentials of one org."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from servio.domains.identity import api_keys, iam, links
from servio.domains.identity.deps import Config, Trail
from servio.domains.identity.models import ApiKey, Org
from servio.domains.identity.permissions import Role
from servio.domains.identity.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    InviteIn,
    InviteOut,
    MemberOut,
    RevokedOut,
    RoleIn,
)
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["iam"], route_class=JsonRoute)
Manager = Annotated[Principal, Depends(require("iam:manage"))]
KeyManager = Annotated[Principal, Depends(require("api_keys:manage"))]


def _member_out(found: iam.Member) -> MemberOut:
    return MemberOut(
        id=found.user.id,
        email=found.user.email,
        role=Role(found.membership.role),
        active=found.membership.active,
        mfa_enabled=found.user.mfa_enabled,
        joined_at=found.membership.created_at,
    )


@router.get(
    "/v1/iam/users", summary="Members of my business", responses=problem_responses(401, 403)
)
async def list_users(principal: Manager, s: OrgSession) -> list[MemberOut]:
    return [_member_out(m) for m in await iam.list_members(s, principal.org_id)]


@router.post(
    "/v1/iam/users",
    status_code=202,
    summary="Invite someone by email with a single-use, expiring link",
    responses=problem_responses(401, 403, 409, 422),
)
async def invite_user(
    body: InviteIn, principal: Manager, s: OrgSession, config: Config, trail: Trail
) -> InviteOut:
    if body.role.value == "OWNER":
        iam.require_owner(principal)
    org = await s.get(Org, principal.org_id)
    assert org is not None
    email = await links.invite(
        s, config, org=org, email=body.email, role=body.role.value, invited_by=principal.id
    )
    await trail("iam.invited", f"email:{email}", after={"role": body.role.value})
    return InviteOut(
        email=email,
        role=body.role,
        expires_in_hours=int(config.invite_ttl.total_seconds() // 3600),
    )


@router.get(
    "/v1/iam/users/{user_id}", summary="One member", responses=problem_responses(401, 403, 404)
)
async def get_user(user_id: uuid.UUID, principal: Manager, s: OrgSession) -> MemberOut:
    return _member_out(await iam.get_member(s, principal.org_id, user_id))


@router.patch(
    "/v1/iam/users/{user_id}",
    summary="Change a member's role",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_role(
    user_id: uuid.UUID, body: RoleIn, principal: Manager, s: OrgSession, trail: Trail
) -> MemberOut:
    before = (await iam.get_member(s, principal.org_id, user_id)).membership.role
    found = await iam.change_role(s, principal, user_id, body.role)
    await trail(
        "iam.role.changed",
        f"user:{user_id}",
        before={"role": before},
        after={"role": body.role.value},
    )
    return _member_out(found)


@router.post(
    "/v1/iam/users/{user_id}/logout",
    summary="End every session of a member",
    responses=problem_responses(401, 403, 404),
)
async def logout_user(
    user_id: uuid.UUID, principal: Manager, s: OrgSession, trail: Trail
) -> RevokedOut:
    revoked = await iam.logout_member(s, principal, user_id)
    await trail("iam.sessions.revoked", f"user:{user_id}", after={"revoked": revoked})
    return RevokedOut(revoked_sessions=revoked)


@router.post(
    "/v1/iam/users/{user_id}/deactivate",
    summary="Deactivate a member (sessions end; the last owner stays)",
    responses=problem_responses(401, 403, 404, 409),
)
async def deactivate_user(
    user_id: uuid.UUID, principal: Manager, s: OrgSession, trail: Trail
) -> MemberOut:
    found = await iam.deactivate(s, principal, user_id)
    await trail(
        "iam.deactivated", f"user:{user_id}", before={"active": True}, after={"active": False}
    )
    return _member_out(found)


def _key_out(row: ApiKey) -> dict[str, object]:
    return {c: getattr(row, c) for c in ApiKeyOut.model_fields}


@router.post(
    "/v1/api-keys",
    status_code=201,
    summary="Create an API key (shown once)",
    responses=problem_responses(401, 403, 422),
)
async def create_key(
    body: ApiKeyIn, principal: KeyManager, s: OrgSession, trail: Trail
) -> ApiKeyCreated:
    new = await api_keys.create(
        s,
        org_id=principal.org_id,
        created_by=principal.user_id,
        creator_permissions=principal.permissions,
        name=body.name,
        permissions=body.permissions,
        expires_in_days=body.expires_in_days,
    )
    await trail(
        "api_key.created",
        f"api_key:{new.row.id}",
        after={"name": new.row.name, "permissions": new.row.permissions},
    )
    return ApiKeyCreated.model_validate({**_key_out(new.row), "key": new.key})


@router.get(
    "/v1/api-keys", summary="API keys of my business", responses=problem_responses(401, 403)
)
async def list_keys(principal: KeyManager, s: OrgSession) -> list[ApiKeyOut]:
    return [
        ApiKeyOut.model_validate(_key_out(r)) for r in await api_keys.list_keys(s, principal.org_id)
    ]


@router.delete(
    "/v1/api-keys/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    responses=problem_responses(401, 403, 404),
)
async def revoke_key(
    key_id: uuid.UUID, principal: KeyManager, s: OrgSession, trail: Trail
) -> Response:
    await api_keys.revoke(s, principal.org_id, key_id)
    await trail("api_key.revoked", f"api_key:{key_id}")
    return Response(status_code=204)
