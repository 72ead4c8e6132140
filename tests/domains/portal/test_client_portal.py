"""The client portal (seed 001): a customer asks for a link by email, signs in with it
once, and sees, cancels, moves and exports only their own bookings in that business."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path

import httpx
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.identity import service as identity
from servio.domains.portal.models import ClientSignIn
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from tests.support.app import deliver_outbox
from tests.support.bookings import booking_body, business
from tests.support.identity import Account, mails, problem, register, text_part

HTML = {"Accept": "text/html"}
NEUTRAL = "If this business knows that address, a sign-in link is on its way."


def link_token(message: Message) -> str:
    """The sign-in token in the email's link (signed tokens contain dots)."""
    found = re.search(r"callback\?token=([A-Za-z0-9_.\-]+)", text_part(message))
    assert found, text_part(message)
    return found.group(1)


async def _book(api: httpx.AsyncClient, owner: Account, start: datetime, **extra: object) -> str:
    r = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start, **extra))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _ask_link(api: httpx.AsyncClient, org: str, email: str) -> httpx.Response:
    return await api.post("/client/login/request", data={"org": org, "email": email}, headers=HTML)


async def _link_mail(api: httpx.AsyncClient, var_dir: Path, to: str) -> str:
    await deliver_outbox(api)
    sent = [m for m in mails(var_dir) if m["To"] == to and "sign-in link" in m["Subject"]]
    assert sent, [m["Subject"] for m in mails(var_dir)]
    return link_token(sent[-1])


async def _sign_in(
    api: httpx.AsyncClient, settings: Settings, org: str, email: str = "jo@example.com"
) -> None:
    r = await _ask_link(api, org, email)
    assert r.status_code == 200, r.text
    token = await _link_mail(api, settings.var_dir, email)
    r = await api.post("/client/login/callback", data={"token": token})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/client"


def _csrf(api: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": api.cookies["servio_csrf"]}


async def test_link_by_email_signs_in_and_lists_the_customers_bookings(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    mine = await _book(api, owner, start)
    await _book(api, owner, start + timedelta(hours=4), email="sam@example.com", name="Sam Roe")
    page = await api.get(f"/client/login/request?org={owner.org_slug}", headers=HTML)
    assert page.status_code == 200
    assert f'name="org" value="{owner.org_slug}"' in page.text
    r = await _ask_link(api, owner.org_slug, "Jo@Example.com")
    assert NEUTRAL in r.text
    await deliver_outbox(api)
    [message] = [m for m in mails(settings.var_dir) if "sign-in link" in m["Subject"]]
    assert message["To"] == "jo@example.com"
    assert message["Subject"] == "Your sign-in link for Bright Homes"
    body = text_part(message)
    assert f"{settings.public_url}/client/login/callback?token=" in body
    assert "valid 30 minutes, once" in body
    opened = await api.get("/client/login/callback", params={"token": link_token(message)})
    assert opened.status_code == 200  # opening the link (a mail scanner, say) spends nothing
    assert "<h1>Sign in to Bright Homes</h1>" in opened.text
    assert "client_session" not in opened.headers.get("set-cookie", "")
    r = await api.post("/client/login/callback", data={"token": link_token(message)})
    assert r.status_code == 303
    cookie = r.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith("client_session="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session or "samesite=lax" in session.lower()
    listed = await api.get("/v1/client/portal/bookings")
    assert listed.status_code == 200, listed.text
    body_json = listed.json()
    assert [b["id"] for b in body_json["upcoming"]] == [mine]
    assert body_json["past"] == []
    assert body_json["upcoming"][0]["policy"]["can_change"] is True
    assert body_json["timezone"] == "America/Edmonton"
    home = await api.get("/client", headers=HTML)
    assert home.status_code == 200
    assert f'href="/client/bookings/{mine}"' in home.text
    assert "Sam" not in home.text
    detail = await api.get(f"/v1/client/portal/bookings/{mine}")
    assert detail.status_code == 200
    assert datetime.fromisoformat(detail.json()["start"]) == start


async def test_the_answer_is_the_same_for_an_unknown_address_and_nothing_is_sent(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    await _book(api, owner, start)
    known = await _ask_link(api, owner.org_slug, "jo@example.com")
    unknown = await _ask_link(api, owner.org_slug, "nobody@example.com")
    no_org = await _ask_link(api, "no-such-business", "jo@example.com")
    for r in (known, unknown, no_org):
        assert r.status_code == 200
        assert NEUTRAL in r.text

    def strip(text: str) -> str:
        return re.sub(r'value="[^"]*"', "", text)

    assert strip(known.text) == strip(unknown.text)
    api_answer = await api.post(
        "/v1/client/portal/login/request", json={"org": owner.org_slug, "email": "x@example.com"}
    )
    assert api_answer.status_code == 202
    assert api_answer.json() == {"detail": NEUTRAL}
    await deliver_outbox(api)
    links = [m["To"] for m in mails(settings.var_dir) if "sign-in link" in m["Subject"]]
    assert links == ["jo@example.com"]
    async with db.unit_of_work(system=True) as s:
        rows = list(await s.scalars(select(ClientSignIn)))
    assert [r.email for r in rows] == ["jo@example.com"]
    bad = await _ask_link(api, owner.org_slug, "not an address")
    assert bad.status_code == 422
    assert "Enter a valid email address" in bad.text


async def test_a_link_works_once_and_an_altered_or_expired_one_not_at_all(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    await _book(api, owner, start)
    await _ask_link(api, owner.org_slug, "jo@example.com")
    token = await _link_mail(api, settings.var_dir, "jo@example.com")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    r = await api.get("/client/login/callback", params={"token": tampered}, headers=HTML)
    assert r.status_code == 400
    assert "This link is not valid" in r.text
    assert 'href="/client/login/request"' in r.text
    assert "client_session" not in r.headers.get("set-cookie", "")
    assert (await api.get("/client/login/callback", params={"token": token})).status_code == 200
    first = await api.post("/client/login/callback", data={"token": token})
    assert first.status_code == 303
    api.cookies.clear()
    again = await api.get("/client/login/callback", params={"token": token}, headers=HTML)
    assert again.status_code == 410
    assert "This link was already used" in again.text
    reused = await api.post("/client/login/callback", data={"token": token}, headers=HTML)
    assert reused.status_code == 410
    assert "client_session" not in reused.headers.get("set-cookie", "")
    problem(
        await api.post("/v1/client/portal/session", json={"token": token}),
        410,
        "sign-in-link-gone",
    )
    await _ask_link(api, owner.org_slug, "jo@example.com")
    late = await _link_mail(api, settings.var_dir, "jo@example.com")
    async with db.unit_of_work(system=True) as s:
        for row in await s.scalars(select(ClientSignIn).where(ClientSignIn.used_at.is_(None))):
            row.expires_at = utcnow() - timedelta(minutes=1)
    expired = await api.get("/client/login/callback", params={"token": late}, headers=HTML)
    assert expired.status_code == 410
    assert "This link has expired" in expired.text
    problem(await api.get("/v1/client/portal/bookings"), 401, "client-not-signed-in")
    page = await api.get("/client", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/client/login/request"


async def test_another_customers_or_businesss_booking_is_not_found(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    other_owner, other_start = await business(api, db, "bo@example.com")
    await _book(api, owner, start)
    theirs = await _book(api, owner, start + timedelta(hours=4), email="sam@example.com")
    elsewhere = await _book(api, other_owner, other_start)  # same address, other business
    await _sign_in(api, settings, owner.org_slug)
    for booking_id in (theirs, elsewhere, str(uuid.uuid4())):
        problem(await api.get(f"/v1/client/portal/bookings/{booking_id}"), 404, "booking-not-found")
        problem(
            await api.post(f"/v1/client/portal/bookings/{booking_id}/cancel", headers=_csrf(api)),
            404,
            "booking-not-found",
        )
        page = await api.get(f"/client/bookings/{booking_id}", headers=HTML)
        assert page.status_code == 404
    listed = (await api.get("/v1/client/portal/bookings")).json()
    assert elsewhere not in [b["id"] for b in listed["upcoming"]]
    async with db.unit_of_work(system=True) as s:
        statuses = {b.status for b in await s.scalars(select(Booking))}
    assert "CANCELLED" not in statuses


async def test_cancel_before_the_cut_off_and_refused_after_it(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    early = await _book(api, owner, start)
    late = await _book(api, owner, start + timedelta(hours=4))
    await _sign_in(api, settings, owner.org_slug)
    no_csrf = await api.post(f"/v1/client/portal/bookings/{early}/cancel")
    problem(no_csrf, 403, "csrf-failed")
    r = await api.post(f"/v1/client/portal/bookings/{early}/cancel", headers=_csrf(api))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "CANCELLED"
    assert r.json()["policy"]["can_change"] is False
    home = (await api.get("/client", headers=HTML)).text
    upcoming, past = home.split('id="past-h"')
    assert f"/client/bookings/{early}" in past
    assert f"/client/bookings/{early}" not in upcoming
    async with db.unit_of_work(system=True) as s:
        await identity.put_setting(s, owner.org_id, "bookings.cancel_cutoff_hours", 24 * 30)
    refused = problem(
        await api.post(f"/v1/client/portal/bookings/{late}/cancel", headers=_csrf(api)),
        409,
        "outside-change-window",
    )
    assert "up to 720 hours before the start" in str(refused["detail"])
    assert refused["cutoff_hours"] == 720
    page = await api.get(f"/client/bookings/{late}", headers=HTML)
    assert "up to 720 hours before the start" in page.text
    assert "Cancel this booking" not in page.text
    async with db.unit_of_work(system=True) as s:
        rows = {str(b.id): b for b in await s.scalars(select(Booking))}
    assert rows[early].status == "CANCELLED"
    assert rows[early].cancel_reason == "Cancelled by the customer online"
    assert rows[late].status != "CANCELLED"


async def test_reschedule_moves_the_booking_in_the_database(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    mine = await _book(api, owner, start)
    await _sign_in(api, settings, owner.org_slug)
    day = (start + timedelta(days=1)).date().isoformat()
    free = await api.get(f"/v1/client/portal/bookings/{mine}/slots", params={"date": day})
    assert free.status_code == 200, free.text
    starts = free.json()["starts"]
    assert starts
    target = datetime.fromisoformat(starts[0])
    fragment = await api.get(f"/client/bookings/{mine}/slots", params={"date": day}, headers=HTML)
    assert f'value="{target.isoformat()}"' in fragment.text
    r = await api.post(
        f"/client/bookings/{mine}/reschedule",
        data={"start": target.isoformat(), "csrf": api.cookies["servio_csrf"]},
        headers=HTML,
    )
    assert r.status_code == 303, r.text
    async with db.unit_of_work(system=True) as s:
        moved = await s.get(Booking, uuid.UUID(mine))
    assert moved is not None
    assert moved.starts_at == target
    too_soon = utcnow() + timedelta(hours=2)
    problem(
        await api.post(
            f"/v1/client/portal/bookings/{mine}/reschedule",
            json={"start": too_soon.isoformat()},
            headers=_csrf(api),
        ),
        422,
        "new-start-too-soon",
    )


async def test_export_holds_the_customers_data_only(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    lead = await api.post(
        f"/v1/leads?org={owner.org_slug}",
        json={"name": "Jo Doe", "email": "jo@example.com", "phone": "+1 403 555 0100"},
    )
    assert lead.status_code == 201, lead.text
    mine = await _book(api, owner, start)
    await _book(api, owner, start + timedelta(hours=4), email="sam@example.com", name="Sam Roe")
    await _sign_in(api, settings, owner.org_slug)
    r = await api.get("/v1/client/portal/export")
    assert r.status_code == 200
    assert (
        r.headers["content-disposition"] == f'attachment; filename="my-data-{owner.org_slug}.json"'
    )
    data = json.loads(r.content)
    assert data["business"] == {"name": "Bright Homes", "slug": owner.org_slug}
    assert data["customer"]["email"] == "jo@example.com"
    assert data["customer"]["names"] == ["Jo Doe"]
    assert [b["id"] for b in data["bookings"]] == [mine]
    assert [x["id"] for x in data["leads"]] == [lead.json()["id"]]
    assert data["payments"] == []
    assert "sam@example.com" not in r.text


async def test_sign_in_requests_are_rate_limited(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    answers = [await _ask_link(api, owner.org_slug, "jo@example.com") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert "Too many sign-in requests" in answers[-1].text
    assert int(answers[-1].headers["retry-after"]) > 0
    api_answer = await api.post(
        "/v1/client/portal/login/request", json={"org": owner.org_slug, "email": "jo@example.com"}
    )
    problem(api_answer, 429, "rate-limited")


async def test_a_bearer_session_works_and_sign_out_ends_it(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    mine = await _book(api, owner, start)
    await _ask_link(api, owner.org_slug, "jo@example.com")
    token = await _link_mail(api, settings.var_dir, "jo@example.com")
    r = await api.post("/v1/client/portal/session", json={"token": token})
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    listed = await api.get("/v1/client/portal/bookings", headers=bearer)
    assert [b["id"] for b in listed.json()["upcoming"]] == [mine]
    cancelled = await api.post(f"/v1/client/portal/bookings/{mine}/cancel", headers=bearer)
    assert cancelled.status_code == 200  # a bearer token needs no CSRF value
    assert (await api.post("/v1/client/portal/logout", headers=bearer)).status_code == 204
    problem(
        await api.get("/v1/client/portal/bookings", headers=bearer), 401, "client-not-signed-in"
    )
    staff = await api.get("/v1/client/portal/bookings", headers=owner.auth)
    problem(staff, 403, "client-session-required")
    started = await api.post("/v1/client/portal/session", json={"token": "x" * 40})
    problem(started, 400, "invalid-sign-in-link")


async def test_a_customer_without_upcoming_bookings_sees_the_empty_state(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    mine = await _book(api, owner, start)
    r = await api.post(f"/v1/admin/bookings/{mine}/cancel", json={}, headers=owner.auth)
    assert r.status_code == 200, r.text
    await _sign_in(api, settings, owner.org_slug)
    home = await api.get("/client", headers=HTML)
    assert "No upcoming bookings with Bright Homes." in home.text
    assert f"/client/bookings/{mine}" in home.text
    page = await api.get(f"/client/bookings/{mine}", headers=HTML)
    assert "This booking is cancelled; it can no longer change." in page.text
    signed_out = await api.post("/client/logout", data={"csrf": api.cookies["servio_csrf"]})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/client/login/request?org={owner.org_slug}"
    assert (await api.get("/client", headers=HTML)).status_code == 303
