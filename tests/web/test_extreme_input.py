"""Dates at the ends of the calendar and an email longer than any address can be are
refused with 422 Problem+JSON, never a 500; the audit log keeps what fits its columns."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from servio.platform.audit.models import AuditEvent
from servio.platform.db import Database
from tests.support.identity import PASSWORD, Account, register
from tests.support.problems import assert_problem, error_fields


@pytest.fixture
async def owner(api: httpx.AsyncClient) -> Account:
    return await register(api, "ada@example.com", "Bright Homes")


async def test_public_booking_at_the_end_of_the_calendar_is_refused(
    api: httpx.AsyncClient, owner: Account
) -> None:
    payload = {"name": "Jo", "email": "jo@example.com", "start": "9999-12-31T23:59:59-12:00"}
    response = await api.post(f"/v1/bookings?org={owner.org_slug}", json=payload)
    assert error_fields(assert_problem(response, 422, "validation-error")) == ["body.start"]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/admin/metrics?to=2026-01-01&from=", "from"),
        ("/v1/admin/bookings?from=", "from"),
        ("/v1/admin/audit?since=", "since"),
        ("/v1/admin/leads?created_from=", "created_from"),
        ("/v1/admin/outbox/dead-letter?since=", "since"),
        ("/v1/admin/schedule/conflicts?from=", "from"),
        ("/v1/slots?duration_minutes=60&date=", "date"),
    ],
)
async def test_dates_at_the_ends_of_the_calendar_are_refused(
    api: httpx.AsyncClient, owner: Account, path: str, param: str
) -> None:
    for value in ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00%2B14:00"):
        if "T" in value and param in {"from", "date"}:
            continue
        response = await api.get(path + value, headers=owner.auth)
        body = assert_problem(response, 422, "validation-error")
        assert f"query.{param}" in error_fields(body), body


async def test_blackout_at_the_start_of_the_calendar_is_refused(
    api: httpx.AsyncClient, owner: Account
) -> None:
    payload = {"starts_at": "0001-01-01T00:00:00+14:00", "ends_at": "0001-01-02T00:00:00+14:00"}
    response = await api.post("/v1/admin/blackouts", json=payload, headers=owner.auth)
    assert set(error_fields(assert_problem(response, 422, "validation-error"))) == {
        "body.starts_at",
        "body.ends_at",
    }


async def test_an_email_longer_than_an_address_can_be_is_refused_at_login(
    api: httpx.AsyncClient, owner: Account, db: Database
) -> None:
    response = await api.post(
        "/v1/auth/login", json={"email": "a" * 250 + "@x.io", "password": "p" * 12}
    )
    assert error_fields(assert_problem(response, 422, "validation-error")) == ["body.email"]
    for longest in ("a" * 249 + "@x", "a" * 248 + "@x.io", "b" * 254):
        response = await api.post("/v1/auth/login", json={"email": longest, "password": "p" * 12})
        assert_problem(response, 401, "invalid-credentials")
    async with db.unit_of_work(system=True) as s:
        targets = (await s.scalars(select(AuditEvent.target))).all()
    assert len(targets) == 4  # the sign-up, then each refused sign-in
    assert all(len(t) <= 255 for t in targets)


async def test_pages_take_a_day_at_the_end_of_the_calendar_as_a_typing_mistake(
    api: httpx.AsyncClient, owner: Account
) -> None:
    signed_in = await api.post("/app/login", data={"email": owner.email, "password": PASSWORD})
    assert signed_in.status_code == 303, signed_in.text
    for day in ("9999-12-31", "0001-01-01"):
        page = await api.get(f"/app/bookings?from={day}&to={day}", headers={"HX-Request": "true"})
        assert page.status_code < 500
        assert "Enter a date as YYYY-MM-DD." in page.text
    blackout = await api.post(
        "/app/settings/blackouts",
        data={"starts_at": "9999-12-31T00:00", "ends_at": "9999-12-31T23:00"},
        headers={"HX-Request": "true", "X-CSRF-Token": api.cookies["servio_csrf"]},
    )
    assert blackout.status_code == 422, blackout.text
    assert "Give a start." in blackout.text


async def test_the_booking_form_takes_a_slot_at_the_end_of_the_calendar_as_no_slot(
    api: httpx.AsyncClient, owner: Account
) -> None:
    for slot in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        form = {
            "beds": "2",
            "baths": "1",
            "cleaning_type": "standard",
            "frequency": "one_time",
            "date": slot[:10],
            "slot": slot,
            "name": "Jo Doe",
            "email": "jo@example.com",
        }
        page = await api.post(
            f"/b/{owner.org_slug}/book", data=form, headers={"Accept": "text/html"}
        )
        assert 400 <= page.status_code < 500, page.text
