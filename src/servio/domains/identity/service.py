"""Org lookup and creation, org settings, and how an org's emails look."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity.models import Membership, OrgSetting, User
from servio.domains.identity.models import Org as Org  # re-exported for other domains
from servio.domains.identity.org_settings import OrgSettings as OrgSettings
from servio.platform.db import Database
from servio.platform.db.scoped import in_org, owned
from servio.platform.email import Branding, Look, Vertical
from servio.platform.errors import DomainError, NotFound

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PriceListCheck:
    """What an org's pricing and deposit overrides make of its vertical's price list:
    the deposit policy and the scalar prices in force, or why they make none."""

    deposit: dict[str, Any] | None = None
    pricing: dict[str, Any] = field(default_factory=dict)
    missing: str | None = None  # the vertical has no price list: why
    errors: tuple[dict[str, str], ...] = ()  # each override that breaks the list: why

    @property
    def valid(self) -> bool:
        return self.missing is None and not self.errors


class PriceLists(Protocol):
    """The price lists the org settings are checked against (the catalog implements
    it; identity never imports the catalog)."""

    def check_overrides(self, vertical: str, overrides: dict[str, Any]) -> PriceListCheck: ...


class InvalidOrg(DomainError):
    status = 422
    type = "invalid-org"
    title = "The org's details are invalid"


class OrgNotFound(NotFound):
    type = "org-not-found"
    title = "No such business"


async def get_org_by_slug(session: AsyncSession, slug: str) -> Org:
    """The org with this slug; 404 when none exists."""
    org = await session.scalar(select(Org).where(Org.slug == slug))
    if org is None:
        raise OrgNotFound(f"No business is called {slug!r}.")
    return org


async def get_org(session: AsyncSession, org_id: uuid.UUID) -> Org:
    org = await session.get(Org, org_id)
    if org is None:
        raise OrgNotFound("No such business.")
    return org


def _validate(slug: str, timezone: str, currency: str) -> None:
    if not SLUG.match(slug):
        raise InvalidOrg(f"Slug {slug!r} must be lowercase letters, digits and dashes.")
    if timezone not in available_timezones():
        raise InvalidOrg(f"Unknown time zone {timezone!r}.")
    ZoneInfo(timezone)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidOrg(f"Currency {currency!r} must be an ISO 4217 code.")


async def ensure_org(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    vertical: str,
    timezone: str,
    currency: str,
) -> Org:
    """The org with this slug, created when missing; repeated calls change nothing."""
    _validate(slug, timezone, currency)
    existing = await session.scalar(select(Org).where(Org.slug == slug))
    if existing is not None:
        return existing
    org = Org(slug=slug, name=name, vertical=vertical, timezone=timezone, currency=currency)
    session.add(org)
    await session.flush()
    return org


async def put_setting(session: AsyncSession, org_id: uuid.UUID, key: str, value: Any) -> OrgSetting:
    """Set one org setting, creating it or bumping its version."""
    row = await session.scalar(owned(OrgSetting, org_id).where(OrgSetting.key == key))
    if row is None:
        row = OrgSetting(org_id=org_id, key=key, value=value)
        session.add(row)
    elif row.value != value:
        row.value = value
        row.version += 1
    await session.flush()
    session.info.get(SETTINGS_CACHE, {}).pop(org_id, None)
    return row


async def delete_setting(session: AsyncSession, org_id: uuid.UUID, key: str) -> None:
    """Remove one org setting, so its default applies again."""
    row = await session.scalar(owned(OrgSetting, org_id).where(OrgSetting.key == key))
    if row is not None:
        await session.delete(row)
        await session.flush()
    session.info.get(SETTINGS_CACHE, {}).pop(org_id, None)


SETTINGS_CACHE = "servio.org_settings"


async def org_settings(session: AsyncSession, org_id: uuid.UUID) -> dict[str, Any]:
    """The org's settings, read once per session (a request's several rules read them
    many times); ``put_setting`` keeps the session's copy current."""
    cache: dict[uuid.UUID, dict[str, Any]] = session.info.setdefault(SETTINGS_CACHE, {})
    if org_id not in cache:
        rows = await session.scalars(owned(OrgSetting, org_id))
        cache[org_id] = {row.key: row.value for row in rows}
    return dict(cache[org_id])


async def settings_of(session: AsyncSession, org_id: uuid.UUID) -> OrgSettings:
    """The org's settings as typed values, each the stored one or its declared default."""
    return OrgSettings.of(await org_settings(session, org_id))


async def orgs_with_setting(session: AsyncSession, key: str, value: Any) -> list[uuid.UUID]:
    """The orgs whose setting ``key`` equals ``value`` (a system session sees all orgs):
    how an inbound channel finds its business, say by WhatsApp phone number id."""
    rows = await session.execute(
        select(OrgSetting.org_id, OrgSetting.value).where(OrgSetting.key == key)
    )
    return [org_id for org_id, stored in rows if stored == value]


async def staff_emails(
    session: AsyncSession, org_id: uuid.UUID, roles: tuple[str, ...] = ("OWNER", "ADMIN")
) -> list[str]:
    """The addresses of the org's active members with one of ``roles``, to notify."""
    rows = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            in_org(Membership, org_id),
            Membership.role.in_(roles),
            Membership.active.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    )
    return list(rows)


async def actor_names(
    session: AsyncSession, org_id: uuid.UUID, actors: list[str]
) -> dict[str, str]:
    """The email of each ``user:<id>`` actor who is a member of the org, for display;
    other actors (systems, API keys, people since removed) are left out."""
    ids = set()
    for actor in actors:
        kind, _, raw = actor.partition(":")
        if kind == "user":
            try:
                ids.add(uuid.UUID(raw))
            except ValueError:
                continue
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(in_org(Membership, org_id), User.id.in_(ids))
    )
    return {f"user:{user_id}": email for user_id, email in rows}


class OrgRequired(DomainError):
    status = 422
    type = "org-required"
    title = "Name the business"
    description = "Public routes take ?org=<slug> unless the deployment sets SERVIO_DEFAULT_ORG."


async def resolve_public_org(db: Database, slug: str | None, default: str | None) -> Org:
    """``public_org`` in a short read-only transaction of its own, for public routes."""
    async with db.reader() as session:
        return await public_org(session, slug, default)


async def public_org(session: AsyncSession, slug: str | None, default: str | None) -> Org:
    """The business a public request names with ``?org=``, or the deployment's only one."""
    chosen = slug or default
    if not chosen:
        raise OrgRequired("Add ?org=<slug> to the request.", extra={"field": "org"})
    return await get_org_by_slug(session, chosen)


async def email_look(session: AsyncSession, org_id: uuid.UUID | None) -> Look:
    """How an org's emails look: its name and the ``email.branding`` setting
    (accent_color, logo_url, footer), its vertical and the ``email.wording`` setting
    (words for generic terms). Deployment mail (no org) looks like Servio."""
    org = await session.get(Org, org_id) if org_id else None
    if org is None:
        return Branding(), Vertical()
    settings = await settings_of(session, org.id)
    branding, wording = settings.email_branding, settings.email_wording
    words = {str(k): str(v) for k, v in wording.items()} if isinstance(wording, dict) else {}
    return (
        Branding.of(org.name, branding.model_dump() if branding is not None else None),
        Vertical(key=org.vertical, words=words),
    )
