"""``/app/team``: the business's members and their roles: change a role, invite by
email, deactivate. The identity rules apply as in ``/v1/iam`` (only an owner makes or
changes an owner; the last owner stays)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from servio.domains.identity import iam, links
from servio.domains.identity.deps import auth_config
from servio.domains.identity.permissions import Role
from servio.domains.identity.schemas import InviteIn
from servio.domains.identity.service import get_org
from servio.domains.identity.trail import trail
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.security.principal import Principal
from servio.web.pages.console_auth import console_member
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
Manager = Annotated[Principal, Depends(console_member("iam:manage"))]
ROLES = tuple(r.value for r in Role)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _team(
    request: Request, principal: Principal, status: int = 200, **state: Any
) -> Response:
    async with database(request).unit_of_work(principal.org_id) as s:
        members = await iam.list_members(s, principal.org_id)
    context = {
        "principal": principal,
        "members": members,
        "roles": ROLES,
        "locale": reader_locale(request),
        "errors": {},
        "member_errors": {},
        "typed": {},
        "notice": None,
    } | state
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "team"
    template = "console/team_body.html" if partial else "console/team.html"
    return render(request, template, context, status_code=status)


@router.get("/app/team")
async def team_page(request: Request, principal: Manager) -> Response:
    return await _team(request, principal)


@router.post("/app/team/invite")
async def invite(
    request: Request,
    principal: Manager,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    typed = {"email": email, "role": role}
    try:
        wanted = InviteIn(email=email.strip(), role=role)
    except ValidationError as bad:
        field = str(bad.errors()[0]["loc"][0])
        errors = {field: "Pick a role." if field == "role" else "Enter an email address."}
        return await _team(request, principal, 422, errors=errors, typed=typed)
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            if wanted.role is Role.OWNER:
                iam.require_owner(principal)
            org = await get_org(s, principal.org_id)
            sent_to = await links.invite(
                s,
                auth_config(request),
                org=org,
                email=wanted.email,
                role=wanted.role.value,
                invited_by=principal.id,
            )
            await trail(
                s,
                principal,
                "iam.invited",
                f"email:{sent_to}",
                ip=_ip(request),
                after={"role": wanted.role.value},
            )
    except DomainError as refused:
        field = str(refused.extra.get("field") or ("role" if refused.status == 403 else "email"))
        return await _team(request, principal, 422, errors={field: refused.detail}, typed=typed)
    return await _team(request, principal, notice=f"Invitation sent to {sent_to}.")


@router.post("/app/team/{user_id}/role")
async def change_role(
    request: Request,
    principal: Manager,
    user_id: uuid.UUID,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if role not in ROLES:
        return await _team(request, principal, 422, member_errors={str(user_id): "Pick a role."})
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            before = (await iam.get_member(s, principal.org_id, user_id)).membership.role
            await iam.change_role(s, principal, user_id, Role(role))
            await trail(
                s,
                principal,
                "iam.role.changed",
                f"user:{user_id}",
                ip=_ip(request),
                before={"role": before},
                after={"role": role},
            )
    except DomainError as refused:
        errors = {str(user_id): refused.detail}
        return await _team(request, principal, 409, member_errors=errors)
    return await _team(request, principal, notice="Role changed.")


@router.post("/app/team/{user_id}/deactivate")
async def deactivate(request: Request, principal: Manager, user_id: uuid.UUID) -> Response:
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            await iam.deactivate(s, principal, user_id)
            await trail(
                s,
                principal,
                "iam.deactivated",
                f"user:{user_id}",
                ip=_ip(request),
                before={"active": True},
                after={"active": False},
            )
    except DomainError as refused:
        errors = {str(user_id): refused.detail}
        return await _team(request, principal, 409, member_errors=errors)
    return await _team(request, principal, notice="Member deactivated.")
