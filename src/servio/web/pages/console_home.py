"""``/app``: the staff console's dashboard. Today's bookings in the business's time zone,
the last 30 days in figures (bookings, revenue, deposit rate, leads) and charts of
bookings and revenue per day, the lead funnel and the deposit rate. The figures come
from the bookings and intake services (the same as ``/v1/admin/metrics`` and
``/admin/funnel``); this module only lays them out for Chart.js."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import listing
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.scheduling import service as scheduling
from servio.platform.db import utcnow
from servio.platform.http.auth import database
from servio.platform.security.principal import Principal
from servio.web.pages.console_auth import Member
from servio.web.pages.rendering import reader_locale, render

router = APIRouter(include_in_schema=False)
DAYS = 30


@dataclass(frozen=True)
class OrgView:
    """What a console page needs to show the business's data in its own terms."""

    name: str
    tz: ZoneInfo
    currency: str
    locale: str

    def today(self) -> date:
        return utcnow().astimezone(self.tz).date()


async def org_view(s: AsyncSession, request: Request, org_id: uuid.UUID) -> OrgView:
    org = await identity.get_org(s, org_id)
    settings = await identity.org_settings(s, org_id)
    locale = reader_locale(request, str(settings.get("locale") or "") or None)
    return OrgView(org.name, ZoneInfo(org.timezone), org.currency, locale)


async def resource_names(s: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return {r.id: r.name for r in await scheduling.list_resources(s, org_id)}


def _chart(kind: str, labels: list[str], label: str, data: list[Any], **options: Any) -> Any:
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": [{"label": label, "data": data}]},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": False}},
            **options,
        },
    }


def _charts(
    view: OrgView,
    days: list[listing.DayFigures],
    funnel: list[tuple[str, int]] | None,
    revenue: bool,
) -> dict[str, Any]:
    """Chart.js configurations; revenue only for those who may see the money."""
    labels = [format_date(d.day, "MMM d", locale=view.locale) for d in days]
    percent = {"scales": {"y": {"min": 0, "max": 100}}}
    charts = {
        "bookings": _chart("bar", labels, "Bookings made", [d.bookings for d in days]),
        "deposits": _chart(
            "line",
            labels,
            "Bookings with a deposit (%)",
            [d.deposit_rate_bps / 100 if d.bookings else None for d in days],
            **percent,
        ),
    }
    if revenue:
        charts["revenue"] = _chart(
            "line", labels, f"Revenue ({view.currency})", [d.revenue_cents / 100 for d in days]
        )
    if funnel is not None:
        charts["funnel"] = _chart(
            "bar", [step for step, _ in funnel], "Leads", [n for _, n in funnel], indexAxis="y"
        )
    return charts


async def _lead_funnel(
    s: AsyncSession, org_id: uuid.UUID, since: datetime
) -> list[tuple[str, int]]:
    """Leads of the period that reached each step of NEW → CONTACTED → QUOTED → BOOKED."""
    steps = intake.funnel_steps(await intake.status_counts(s, org_id, since), intake.LEAD_PATH)
    if not steps:
        return []
    return [(steps[0]["from"], steps[0]["reached_from"])] + [
        (step["to"], step["reached_to"]) for step in steps
    ]


async def _dashboard(s: AsyncSession, request: Request, principal: Principal) -> dict[str, Any]:
    view = await org_view(s, request, principal.org_id)
    today = view.today()
    first = today - timedelta(days=DAYS - 1)
    start = listing.local_span(first, today, view.tz)[0]
    day_start, day_end = listing.local_span(today, today, view.tz)
    can_see_leads = "leads:read" in principal.permissions
    funnel = await _lead_funnel(s, principal.org_id, start) if can_see_leads else None
    days = await listing.daily_figures(s, principal.org_id, first, today, view.tz)
    show_revenue = "finance:read" in principal.permissions
    return {
        "view": view,
        "today": today,
        "todays": await listing.starting_between(s, principal.org_id, day_start, day_end),
        "resources": await resource_names(s, principal.org_id),
        "figures": listing.period_totals(days),
        "leads": funnel[0][1] if funnel else 0,
        "charts": _charts(view, days, funnel, show_revenue),
        "funnel": funnel,
        "days": DAYS,
        "show_revenue": show_revenue,
        "show_leads": can_see_leads,
    }


@router.get("/app")
async def dashboard(request: Request, principal: Member) -> Response:
    context: dict[str, Any] = {"principal": principal, "allowed": False}
    if "bookings:read" in principal.permissions:
        async with database(request).unit_of_work(principal.org_id) as s:
            context |= await _dashboard(s, request, principal) | {"allowed": True}
    return render(request, "console/dashboard.html", context)
