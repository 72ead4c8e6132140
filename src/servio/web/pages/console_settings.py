"""``/app/settings``: the business's general settings, deposit policy, price-list
overrides, weekly hours and blackouts. Each section is a form that posts here (htmx
swaps the section); the page calls the same validated services as ``/v1/admin/settings``
and the scheduling routes, and a refused value comes back beside its field, as typed."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from servio.domains.catalog import service as catalog
from servio.domains.identity import org_config
from servio.domains.identity.trail import trail
from servio.domains.scheduling import availability
from servio.domains.scheduling import service as scheduling
from servio.platform.dates import parse_sane_datetime
from servio.platform.db import utcnow
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.security.principal import Principal
from servio.web.deps import get_container
from servio.web.pages.console_auth import console_member
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
Manager = Annotated[Principal, Depends(console_member("settings:manage"))]
GENERAL = (
    "timezone",
    "locale",
    "bookings.reminder_hours",
    "bookings.cancel_cutoff_hours",
    "bookings.hold_minutes",
    "tax.rate_bps",
)
DEPOSIT_NUMBERS = (
    "deposit.percent_bps",
    "deposit.min_cents",
    "deposit.max_cents",
    "deposit.high_value_cents",
)
SECTIONS = ("general", "deposit", "pricing", "hours", "blackouts")


def field_errors(exc: DomainError) -> dict[str, str]:
    """A Problem's errors by field name; the detail under "" when it names none."""
    found = exc.extra.get("errors")
    if isinstance(found, list) and found:
        return {str(e.get("field", "")): str(e.get("message", "")) for e in found}
    return {str(exc.extra.get("field", "")): exc.detail}


def _price_lists(request: Request) -> catalog.Catalog:
    found: catalog.Catalog = get_container(request).catalog
    return found


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _page_context(s: AsyncSession, request: Request, principal: Principal) -> dict[str, Any]:
    config = await org_config.read_config(s, _price_lists(request), principal.org_id)
    resources = await scheduling.list_resources(s, principal.org_id)
    hours = await availability.weekly_hours(s, principal.org_id)
    blackouts = await availability.list_blackouts(s, principal.org_id, ending_after=utcnow())
    return {
        "principal": principal,
        "config": config,
        "values": config.values | config.overrides,
        "resources": resources,
        "hours": {r.id: _hours_form(hours.get(r.id, {})) for r in resources},
        "blackouts": blackouts,
        "weekdays": availability.WEEKDAYS,
        "timezone": config.values["timezone"],
        "errors": {},
        "saved": None,
    }


def _hours_form(week: availability.Week) -> dict[str, str]:
    """A week as the form's fields: ``opens.N`` / ``closes.N`` (first opening of day N)."""
    fields: dict[str, str] = {}
    for day, windows in week.items():
        fields[f"opens.{day}"] = windows[0][0].strftime("%H:%M")
        fields[f"closes.{day}"] = windows[0][1].strftime("%H:%M")
    return fields


async def _answer(
    request: Request, principal: Principal, section: str, overrides: dict[str, Any], status: int
) -> Response:
    """The section alone for htmx, else the whole page with the section's state."""
    async with database(request).unit_of_work(principal.org_id) as s:
        context = await _page_context(s, request, principal)
    context |= overrides | {"section": section}
    template = (
        f"console/settings_{section}.html"
        if request.headers.get("hx-request")
        else "console/settings.html"
    )
    return render(request, template, context, status_code=status)


@router.get("/app/settings")
async def settings_page(request: Request, principal: Manager) -> Response:
    async with database(request).unit_of_work(principal.org_id) as s:
        context = await _page_context(s, request, principal)
    return render(request, "console/settings.html", context | {"section": None})


async def _save(
    request: Request, principal: Principal, section: str, changes: dict[str, Any], typed: FormData
) -> Response:
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            await org_config.change_settings(
                s, _price_lists(request), principal, changes, ip=_ip(request)
            )
    except DomainError as refused:
        async with database(request).unit_of_work(principal.org_id) as s:
            current = (await _page_context(s, request, principal))["values"]
        kept = current | {k: v for k, v in typed.items() if isinstance(v, str)}
        kept |= {k: v for k, v in changes.items() if isinstance(v, list | bool)}
        context = {"values": kept, "errors": field_errors(refused)}
        return await _answer(request, principal, section, context, 422)
    return await _answer(request, principal, section, {"saved": section}, 200)


def _text(form: FormData, key: str) -> str | None:
    value = str(form.get(key, "")).strip()
    return value or None


@router.post("/app/settings/general")
async def save_general(request: Request, principal: Manager) -> Response:
    form = await request.form()
    changes = {key: _text(form, key) for key in GENERAL if key in form}
    return await _save(request, principal, "general", changes, form)


@router.post("/app/settings/deposit")
async def save_deposit(request: Request, principal: Manager) -> Response:
    form = await request.form()
    changes: dict[str, Any] = {key: _text(form, key) for key in DEPOSIT_NUMBERS if key in form}
    changes["deposit.new_client"] = form.get("deposit.new_client") == "true"
    days = [str(d) for d in form.getlist("deposit.weekend_days")]
    changes["deposit.weekend_days"] = [int(d) for d in days if d.isdigit()]
    notice = str(form.get("deposit.short_notice_hours", ""))
    parts = [p.strip() for p in notice.split(",") if p.strip()]
    changes["deposit.short_notice_hours"] = (
        [int(p) for p in parts] if all(p.isdigit() for p in parts) else notice
    )
    return await _save(request, principal, "deposit", changes, form)


@router.post("/app/settings/pricing")
async def save_pricing(request: Request, principal: Manager) -> Response:
    form = await request.form()
    changes = {str(key): _text(form, str(key)) for key in form if str(key).startswith("pricing.")}
    return await _save(request, principal, "pricing", changes, form)


def _week_of(form: FormData) -> tuple[availability.Week, dict[str, str]]:
    week: availability.Week = {}
    errors: dict[str, str] = {}
    for day, name in enumerate(availability.WEEKDAYS):
        opens, closes = _text(form, f"opens.{day}"), _text(form, f"closes.{day}")
        if opens is None and closes is None:
            continue
        try:
            week[day] = [(time.fromisoformat(opens or ""), time.fromisoformat(closes or ""))]
        except ValueError:
            errors[f"hours.{day}"] = f"{name} needs both an opening and a closing time."
    return week, errors


@router.post("/app/settings/hours/{resource_id}")
async def save_hours(request: Request, principal: Manager, resource_id: uuid.UUID) -> Response:
    form = await request.form()
    week, errors = _week_of(form)
    try:
        if errors:
            raise availability.InvalidHours(
                "Check the hours.",
                extra={"errors": [{"field": k, "message": v} for k, v in errors.items()]},
            )
        async with database(request).unit_of_work(principal.org_id) as s:
            await availability.set_weekly_hours(s, principal.org_id, resource_id, week)
            await trail(s, principal, "hours.changed", f"resource:{resource_id}", ip=_ip(request))
    except DomainError as refused:
        typed = {k: str(v) for k, v in form.items()}
        context = {
            "hours_errors": {resource_id: field_errors(refused)},
            "hours_typed": {resource_id: typed},
        }
        return await _answer(request, principal, "hours", context, refused.status)
    return await _answer(request, principal, "hours", {"saved": str(resource_id)}, 200)


def _blackout_of(form: FormData, timezone: str) -> dict[str, Any]:
    """The blackout the form asks for; ``datetime-local`` fields read in the business's
    time zone."""
    try:
        zone = ZoneInfo(timezone)
        starts = parse_sane_datetime(_text(form, "starts_at") or "").replace(tzinfo=zone)
    except ValueError as bad:
        raise availability.InvalidBlackout("Give a start.", extra={"field": "starts_at"}) from bad
    try:
        ends = parse_sane_datetime(_text(form, "ends_at") or "").replace(tzinfo=zone)
    except ValueError as bad:
        raise availability.InvalidBlackout("Give an end.", extra={"field": "ends_at"}) from bad
    resource = _text(form, "resource_id")
    try:
        resource_id = uuid.UUID(resource) if resource else None
    except ValueError as bad:
        raise availability.InvalidBlackout(
            "Pick a resource.", extra={"field": "resource_id"}
        ) from bad
    reason = (_text(form, "reason") or "")[:200]
    return {"starts_at": starts, "ends_at": ends, "resource_id": resource_id, "reason": reason}


@router.post("/app/settings/blackouts")
async def add_blackout(request: Request, principal: Manager) -> Response:
    form = await request.form()
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            config = await org_config.read_config(s, _price_lists(request), principal.org_id)
            wanted = _blackout_of(form, str(config.values["timezone"]))
            row = await availability.add_blackout(s, principal.org_id, **wanted)
            await trail(s, principal, "blackout.created", f"blackout:{row.id}", ip=_ip(request))
    except DomainError as refused:
        typed = {k: str(v) for k, v in form.items()}
        context = {"blackout_errors": field_errors(refused), "blackout_typed": typed}
        return await _answer(request, principal, "blackouts", context, refused.status)
    return await _answer(request, principal, "blackouts", {"saved": "blackouts"}, 200)


@router.post("/app/settings/blackouts/{blackout_id}/remove")
async def remove_blackout(request: Request, principal: Manager, blackout_id: uuid.UUID) -> Response:
    try:
        async with database(request).unit_of_work(principal.org_id) as s:
            await availability.remove_blackout(s, principal.org_id, blackout_id)
            await trail(
                s, principal, "blackout.removed", f"blackout:{blackout_id}", ip=_ip(request)
            )
    except DomainError as refused:
        context = {"blackout_errors": field_errors(refused)}
        return await _answer(request, principal, "blackouts", context, refused.status)
    return await _answer(request, principal, "blackouts", {"saved": "blackouts"}, 200)
