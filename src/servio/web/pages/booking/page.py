"""``GET /b/{org_slug}``: the booking page, with its live fragments: the estimate panel
(``POST /b/{org_slug}/estimate``) and a day's free times (``GET /b/{org_slug}/slots``).
Prices and times come from the same domain services as ``/v1/estimate`` and
``/v1/slots``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import ImmutableMultiDict

from servio.domains.catalog import service as catalog
from servio.domains.scheduling import service as scheduling
from servio.platform.dates import parse_sane_date
from servio.platform.db import utcnow
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.web.deps import get_container
from servio.web.pages.booking.context import (
    Business,
    UnknownBusiness,
    load_business,
    not_found,
    questions,
)
from servio.web.pages.booking.form import BookingForm, estimate_inputs, read_form
from servio.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
DEFAULTS = {"beds": "2", "baths": "1", "cleaning_type": "standard", "frequency": "one_time"}


@dataclass(frozen=True)
class FreeTimes:
    day: date | None
    starts: list[Any]  # the slots, one per start time (whichever team is free)
    problem: str | None = None


async def price(request: Request, b: Business, form: BookingForm) -> catalog.EstimateOut | None:
    """The server's estimate for the answers (the API's ``EstimateOut`` shape); None
    with the errors on the form when the answers cannot be priced."""
    inputs = estimate_inputs(form)
    if inputs is None:
        return None
    async with database(request).unit_of_work(b.org.id) as s:
        try:
            return await catalog.price_inputs(s, get_container(request).catalog, b.org.id, inputs)
        except DomainError as error:
            form.add_domain_error(error)
            return None


async def free_times(request: Request, b: Business, form: BookingForm) -> FreeTimes:
    raw = form.values["date"]
    if not raw:
        return FreeTimes(None, [])
    try:
        day = parse_sane_date(raw)
    except ValueError:
        return FreeTimes(None, [], "Pick a day from the calendar.")
    estimate = await price(request, b, form)
    if estimate is None or estimate.needs_custom_quote:
        return FreeTimes(day, [], "Times show once the job can be priced online.")
    async with database(request).unit_of_work(b.org.id) as s:
        try:
            found = await scheduling.find_slots(
                s,
                b.org.id,
                first_day=day,
                days=1,
                duration=timedelta(minutes=estimate.duration_minutes),
            )
        except DomainError as error:
            return FreeTimes(day, [], error.detail)
    starts: dict[Any, Any] = {}
    for slot in found:
        starts.setdefault(slot.start, slot)
    return FreeTimes(day, list(starts.values()))


def add_on_labels(asked: catalog.EstimateQuestions | None) -> dict[str, str]:
    return {a.key: a.label for a in asked.add_ons} if asked else {}


def blank_form() -> BookingForm:
    return read_form(ImmutableMultiDict(DEFAULTS))  # type: ignore[arg-type]


async def page_context(request: Request, b: Business, form: BookingForm) -> dict[str, Any]:
    """The form with its questions, estimate panel, calendar and the chosen day's times."""
    asked = await questions(request, b)
    return b.context(
        questions=asked,
        add_on_labels=add_on_labels(asked),
        form=form,
        estimate=await price(request, b, form) if asked else None,
        times=await free_times(request, b, form) if asked else FreeTimes(None, []),
        days=b.calendar(utcnow()),
    )


@router.get("/b/{org_slug}")
async def booking_page(org_slug: str, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    context = await page_context(request, b, blank_form())
    return render(request, "public/booking.html", context, headers=b.headers())


@router.post("/b/{org_slug}/estimate")
async def estimate_panel(org_slug: str, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    form = read_form(await request.form())
    estimate = await price(request, b, form)
    labels = add_on_labels(await questions(request, b))
    context = b.context(form=form, estimate=estimate, add_on_labels=labels)
    return render(request, "public/estimate.html", context, status_code=200 if estimate else 422)


@router.get("/b/{org_slug}/slots")
async def slots_fragment(org_slug: str, request: Request) -> Response:
    try:
        b = await load_business(request, org_slug)
    except UnknownBusiness:
        return not_found(request)
    form = read_form(request.query_params)  # type: ignore[arg-type]
    times = await free_times(request, b, form)
    return render(request, "public/slots.html", b.context(form=form, times=times))
