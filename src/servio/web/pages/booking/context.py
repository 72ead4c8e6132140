"""What every booking page needs about the business: the org (an unknown slug is the
HTML 404 page), its settings, the reader's locale, the form's questions, and the page
policy that lets the Turnstile widget load when a site key is configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response

from servio.domains.catalog import service as catalog
from servio.domains.identity import service as identity
from servio.domains.identity.models import Org
from servio.platform.http.auth import database
from servio.platform.http.context import client_of
from servio.web.deps import get_container
from servio.web.pages.errors import error_page
from servio.web.pages.rendering import reader_locale

CALENDAR_DAYS = 14
TURNSTILE = "https://challenges.cloudflare.com"
TURNSTILE_SCRIPT = f"{TURNSTILE}/turnstile/v0/api.js"
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    f"script-src 'self' {TURNSTILE}; frame-src {TURNSTILE}; connect-src 'self' {TURNSTILE}; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class UnknownBusiness(Exception):
    """The slug names no business: answered with the HTML 404 page."""


@dataclass(frozen=True)
class Business:
    org: Org
    settings: dict[str, Any]
    locale: str
    site_key: str | None

    @property
    def slug(self) -> str:
        return self.org.slug

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.org.timezone)

    def calendar(self, now: datetime) -> list[date]:
        """The next days a customer can pick, from today in the business's zone."""
        today = now.astimezone(self.zone).date()
        return [today + timedelta(days=i) for i in range(CALENDAR_DAYS)]

    def headers(self) -> dict[str, str]:
        return {"Content-Security-Policy": PAGE_POLICY} if self.site_key else {}

    def context(self, **values: Any) -> dict[str, Any]:
        return {
            "business": self,
            "business_name": self.org.name,
            "locale": self.locale,
            "currency": self.org.currency,
            "tz": self.org.timezone,
            "site_key": self.site_key,
            "turnstile_script": TURNSTILE_SCRIPT,
            **values,
        }


async def load_business(request: Request, slug: str) -> Business:
    db = database(request)
    try:
        org = await identity.resolve_public_org(db, slug, None)
    except identity.OrgNotFound as exc:
        raise UnknownBusiness(slug) from exc
    async with db.unit_of_work(org.id) as s:
        settings = await identity.org_settings(s, org.id)
    deployment = get_container(request).settings
    site_key = str(settings.get("turnstile.site_key") or deployment.turnstile_site_key or "")
    return Business(
        org=org,
        settings=settings,
        locale=reader_locale(request, str(settings.get("locale") or "") or None),
        site_key=site_key or None,
    )


def not_found(request: Request) -> Response:
    return error_page(request, 404, "We could not find this business.")


async def questions(request: Request, b: Business) -> catalog.EstimateQuestions | None:
    """The form's questions; None when the business's vertical prices nothing online."""
    async with database(request).unit_of_work(b.org.id) as s:
        try:
            return await catalog.estimate_questions(s, get_container(request).catalog, b.org.id)
        except catalog.VerticalNotFound:
            return None


def remote_ip(request: Request) -> str | None:
    return client_of(request).ip
