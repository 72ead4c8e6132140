"""Team management inside one org: members, roles, sessions, deactivation.

An ADMIN may not grant OWNER nor change an OWNER; the last active OWNER can be neither
demoted nor deactivated, so an org always has someone who can manage it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import sessions
from servio.domains.identity.models import Membership, User
from servio.domains.identity.permissions import Role
from servio.platform.db.scoped import in_org
from servio.platform.errors import Conflict, DomainError, NotFound
from servio.platform.security.principal import Principal


class MemberNotFound(NotFound):
    type = "member-not-found"
    title = "No such member"


class OwnerOnly(DomainError):
    status = 403
    type = "owner-only"
    title = "Only an owner may do this"
    description = "Granting OWNER, or changing an owner, takes an OWNER."


class LastOwner(Conflict):
    type = "last-owner"
    title = "The last owner must stay"
    description = "An org keeps at least one active OWNER; promote another member first."


@dataclass(frozen=True)
class Member:
    user: User
    membership: Membership


async def list_members(s: AsyncSession, org_id: uuid.UUID) -> list[Member]:
    stmt = (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(in_org(Membership, org_id))
        .order_by(Membership.created_at)
    )
    return [Member(u, m) for u, m in (await s.execute(stmt)).all()]


async def get_member(s: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    row = (
        await s.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(in_org(Membership, org_id), User.id == user_id)
            .with_for_update(of=Membership)
        )
    ).one_or_none()
    if row is None:
        raise MemberNotFound("No such member in this business.")
    return Member(row[0], row[1])


async def _active_owners(s: AsyncSession, org_id: uuid.UUID) -> int:
    count = await s.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            in_org(Membership, org_id),
            Membership.role == Role.OWNER.value,
            Membership.active.is_(True),
        )
    )
    return int(count or 0)


def require_owner(actor: Principal) -> None:
    if actor.role != Role.OWNER.value:
        raise OwnerOnly("Only an owner may grant OWNER or change an owner.")


def _guard_owner(actor: Principal, member: Membership, new_role: str | None) -> None:
    if member.role == Role.OWNER.value or new_role == Role.OWNER.value:
        require_owner(actor)


async def _keep_an_owner(s: AsyncSession, member: Membership) -> None:
    if (
        member.role == Role.OWNER.value
        and member.active
        and await _active_owners(s, member.org_id) <= 1
    ):
        raise LastOwner("This is the last active owner of the business.")


async def change_role(s: AsyncSession, actor: Principal, user_id: uuid.UUID, role: Role) -> Member:
    found = await get_member(s, actor.org_id, user_id)
    _guard_owner(actor, found.membership, role.value)
    if role != Role.OWNER:
        await _keep_an_owner(s, found.membership)
    found.membership.role = role.value
    await s.flush()
    return found


async def deactivate(s: AsyncSession, actor: Principal, user_id: uuid.UUID) -> Member:
    found = await get_member(s, actor.org_id, user_id)
    _guard_owner(actor, found.membership, None)
    await _keep_an_owner(s, found.membership)
    found.membership.active = False
    await sessions.revoke_sessions(s, user_id=user_id, org_id=actor.org_id, reason="deactivated")
    await s.flush()
    return found


async def logout_member(s: AsyncSession, actor: Principal, user_id: uuid.UUID) -> int:
    found = await get_member(s, actor.org_id, user_id)
    _guard_owner(actor, found.membership, None)
    return await sessions.revoke_sessions(
        s, user_id=user_id, org_id=actor.org_id, reason="admin-logout"
    )
