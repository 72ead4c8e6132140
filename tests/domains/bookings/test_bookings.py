"""Bookings through the app: holds with the deposit decision, no double booking,
staff moves with If-Match, reschedule, timeline, expiry of unpaid holds."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from servio.domains.bookings.models import Booking
from servio.domains.scheduling.models import Reservation
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from tests.conftest import make_settings
from tests.support.app import app_client, deliver_outbox
from tests.support.bookings import TZ, booking_body, business
from tests.support.identity import mails, problem, text_part


async def test_a_first_booking_holds_the_slot_with_a_deposit(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    r = await api.post(
        f"/v1/bookings?org={owner.org_slug}", json=booking_body(start, total_cents=1)
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "PENDING"
    assert body["subtotal_cents"] == 105_00
    assert (body["deposit_required"], body["deposit_cents"], body["deposit_reasons"]) == (
        True,
        50_00,
        ["new_client"],
    )
    assert body["hold_expires_at"] is not None
    assert r.headers["etag"] == 'W/"1"'
    assert datetime.fromisoformat(body["ends_at"]) - datetime.fromisoformat(
        body["starts_at"]
    ) == timedelta(hours=3)
    again = problem(
        await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start)),
        409,
        "slot-taken",
    )
    assert again["alternatives"]
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 1
        hold = await s.scalar(select(Reservation))
        assert hold is not None
        assert (hold.kind, hold.ends_at - hold.starts_at) == (
            "hold",
            timedelta(hours=3, minutes=30),
        )


async def test_staff_moves_with_if_match_and_the_timeline(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    b = (await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))).json()
    url = f"/v1/admin/bookings/{b['id']}"
    problem(
        await api.post(f"{url}/confirm", headers=owner.auth | {"If-Match": 'W/"7"'}),
        412,
        "stale-version",
    )
    confirmed = await api.post(f"{url}/confirm", headers=owner.auth | {"If-Match": 'W/"1"'})
    assert confirmed.json()["status"] == "CONFIRMED"
    assert confirmed.headers["etag"] == 'W/"2"'
    problem(await api.post(f"{url}/confirm", headers=owner.auth), 409, "illegal-booking-move")
    later = start + timedelta(days=1, hours=2)
    moved = await api.post(
        f"{url}/reschedule", json={"start": later.isoformat()}, headers=owner.auth
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == later
    # The old time is free again and the new one is taken.
    slots = (
        await api.get(
            "/v1/slots",
            params={
                "org": owner.org_slug,
                "date": start.date().isoformat(),
                "duration_minutes": 180,
            },
        )
    ).json()
    assert slots["slots"][0]["local_start"][11:16] == "09:00"
    cancelled = await api.post(
        f"{url}/cancel", json={"reason": "Customer moved away"}, headers=owner.auth
    )
    assert cancelled.json()["cancel_reason"] == "Customer moved away"
    timeline = (await api.get(f"/v1/admin/timeline/booking/{b['id']}", headers=owner.auth)).json()
    assert [e["kind"] for e in timeline] == ["created", "confirm", "rescheduled", "cancel"]
    listed = (
        await api.get("/v1/admin/bookings", params={"status": "CANCELLED"}, headers=owner.auth)
    ).json()
    assert [x["id"] for x in listed["items"]] == [b["id"]]
    assert listed["next_cursor"] is None


async def test_unpaid_holds_expire_and_free_the_slot(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    b = (await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))).json()
    async with db.unit_of_work(system=True) as s:
        await s.execute(
            update(Booking).values(hold_expires_at=utcnow().astimezone(TZ) - timedelta(minutes=1))
        )
        await s.execute(
            update(Reservation).values(expires_at=utcnow().astimezone(TZ) - timedelta(minutes=1))
        )
    r = await api.post("/v1/admin/cleanup", headers=owner.auth)
    assert r.json() == {"expired_holds": 1}
    got = (await api.get(f"/v1/admin/bookings/{b['id']}", headers=owner.auth)).json()
    assert got["status"] == "EXPIRED"
    rebooked = await api.post(
        f"/v1/bookings?org={owner.org_slug}", json=booking_body(start, email="sam@example.com")
    )
    assert rebooked.status_code == 201, rebooked.text


async def test_bad_bookings_write_nothing(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    url = f"/v1/bookings?org={owner.org_slug}"
    past = problem(
        await api.post(url, json=booking_body(start - timedelta(days=30))), 422, "start-in-past"
    )
    assert past["field"] == "start"
    problem(
        await api.post(url, json=booking_body(start, inputs={"beds": 9, "baths": 6})),
        422,
        "custom-quote-required",
    )
    problem(await api.post(url, json=booking_body(start, inputs=None)), 422, "missing-duration")
    problem(
        await api.post(url, json=booking_body(start.replace(tzinfo=None))), 422, "validation-error"
    )
    problem(await api.post(url, json=booking_body(start, email="nope")), 422, "invalid-contact")
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 0
        assert await s.scalar(select(func.count()).select_from(Reservation)) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_hundred_clients_one_slot_one_booking(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        rate_limit_enabled=False,
        database_pool_size=25,
        database_timeout_seconds=60,
    )
    async with app_client(settings, raise_errors=False) as api:
        owner, start = await business(api, db)

        async def attempt(i: int) -> tuple[int, str]:
            r = await api.post(
                f"/v1/bookings?org={owner.org_slug}",
                json=booking_body(start, email=f"c{i}@example.com"),
            )
            return r.status_code, str(r.json().get("type", "")).rsplit("/", 1)[-1]

        codes = await asyncio.gather(*(attempt(i) for i in range(200)))
    assert Counter(codes) == {(201, ""): 1, (409, "slot-taken"): 199}
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 1


async def test_customer_emails_follow_the_booking(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    b = (await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))).json()
    await api.post(f"/v1/admin/bookings/{b['id']}/confirm", headers=owner.auth)
    await deliver_outbox(api)
    sent = {
        str(m["Subject"]).split(" ")[1]: m
        for m in mails(settings.var_dir)
        if m["To"] == "jo@example.com"
    }
    assert sorted(sent) == ["booking", "have"]  # "Your booking … confirmed", "We have …"
    assert str(sent["booking"]["Subject"]).endswith("is confirmed")
    assert "A deposit of 50.00 CAD secures it" in text_part(sent["have"])


async def test_admin_metrics_over_a_range(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    for i in range(4):
        r = await api.post(
            f"/v1/leads?org={owner.org_slug}",
            json={"name": f"Lead {i}", "email": f"l{i}@example.com"},
        )
        assert r.status_code == 201
    first = (await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))).json()
    later = start + timedelta(hours=4)
    await api.post(
        f"/v1/bookings?org={owner.org_slug}", json=booking_body(later, email="b@example.com")
    )
    await api.post(f"/v1/admin/bookings/{first['id']}/confirm", headers=owner.auth)
    today = utcnow().astimezone(TZ).date()
    params = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    body = (await api.get("/v1/admin/metrics", params=params, headers=owner.auth)).json()
    assert (body["leads"], body["bookings"], body["confirmed"]) == (4, 2, 1)
    assert body["conversion_bps"] == 2500
    assert body["revenue_cents"] == 105_00
    assert (body["deposit_rate_bps"], body["deposits_cents"]) == (10_000, 100_00)
    assert (body["duration_samples"], body["duration_accuracy_bps"]) == (0, None)
    csv_text = (
        await api.get("/v1/admin/metrics", params=params | {"format": "csv"}, headers=owner.auth)
    ).text
    assert csv_text.splitlines()[0].startswith("leads,bookings,confirmed")
    assert csv_text.splitlines()[1].endswith(",0,,")  # no duration samples yet
    problem(
        await api.get(
            "/v1/admin/metrics",
            params={"from": "2027-01-02", "to": "2027-01-01"},
            headers=owner.auth,
        ),
        422,
        "bad-date-range",
    )


async def test_completion_reports_minutes_and_metrics_weigh_the_estimate(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    made = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))
    b = made.json()  # 2 beds / 1 bath: 3.0 h on site, 180 minutes estimated
    url = f"/v1/admin/bookings/{b['id']}"
    wrong = await api.post(f"{url}/confirm", json={"actual_minutes": 200}, headers=owner.auth)
    problem(wrong, 422, "field-not-for-this-move")
    await api.post(f"{url}/confirm", headers=owner.auth)
    too_long = await api.post(f"{url}/complete", json={"actual_minutes": 0}, headers=owner.auth)
    problem(too_long, 422, "validation-error")
    done = await api.post(f"{url}/complete", json={"actual_minutes": 225}, headers=owner.auth)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["actual_minutes"]) == ("COMPLETED", 225)
    async with db.unit_of_work(system=True) as s:
        row = await s.get(Booking, uuid.UUID(b["id"]))
        assert row is not None
        assert row.actual_minutes == 225
    today = utcnow().astimezone(TZ).date()
    params = {"from": today.isoformat(), "to": today.isoformat()}
    body = (await api.get("/v1/admin/metrics", params=params, headers=owner.auth)).json()
    # 45 minutes over on 180 estimated: 75 % accurate, 45 minutes of overrun on average
    assert (body["duration_samples"], body["duration_accuracy_bps"]) == (1, 7500)
    assert body["duration_bias_minutes"] == 45
    timeline = await api.get(f"/v1/admin/timeline/booking/{b['id']}", headers=owner.auth)
    completed = [e for e in timeline.json() if e["kind"] == "complete"]
    assert completed[0]["detail"]["actual_minutes"] == 225
