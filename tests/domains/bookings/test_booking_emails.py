"""Booking emails: the calendar invitation on the confirmed and rescheduled emails (and
its withdrawal on cancel), reminders once per start from the scheduled scan or
``POST /v1/admin/email-scan``, resending the last email, the referrer's credit notice,
and unpaid holds released by the scheduled job."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select, update

from servio.domains.bookings import service as bookings
from servio.domains.bookings.models import Booking
from servio.domains.identity import service as identity
from servio.domains.intake.service import REFERRAL_CREDITED
from servio.domains.scheduling.models import Reservation
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.outbox import OutboxMessage
from tests.conftest import make_settings
from tests.support.app import app_client, app_of, deliver_outbox
from tests.support.bookings import booking_body, business, invitation
from tests.support.identity import Account, mails, problem, text_part
from tests.support.jobs import due, runs_of
from tests.support.smtp import smtp_server

ADDRESS = {"line1": "10 Jasper Ave", "city": "Edmonton", "region": "AB", "postal_code": "T5J 0N3"}


async def _book(
    api: httpx.AsyncClient, owner: Account, start: datetime, **extra: object
) -> dict[str, Any]:
    r = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start, **extra))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _lead(api: httpx.AsyncClient, owner: Account, **body: object) -> dict[str, Any]:
    r = await api.post(f"/v1/leads?org={owner.org_slug}", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _move(
    api: httpx.AsyncClient, owner: Account, booking_id: object, move: str, **body: object
) -> dict[str, Any]:
    r = await api.post(
        f"/v1/admin/bookings/{booking_id}/{move}", json=body or None, headers=owner.auth
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _to(var_dir: Path, address: str, subject_words: str) -> list[Message]:
    """The mail sent to ``address`` whose subject holds ``subject_words``."""
    return [m for m in mails(var_dir) if m["To"] == address and subject_words in str(m["Subject"])]


def _event_of(message: Message) -> tuple[Message, dict[str, object]]:
    part, calendar = invitation(message)
    [event] = calendar.walk("VEVENT")
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    text = raw.decode().replace("\r\n", "\n")
    return part, {
        "method": str(calendar["METHOD"]),
        "uid": str(event["UID"]),
        "sequence": int(event.decoded("SEQUENCE")),
        "start": event.decoded("DTSTART"),
        "end": event.decoded("DTEND"),
        "summary": str(event["SUMMARY"]),
        "location": str(event.get("LOCATION", "")),
        "status": str(event["STATUS"]),
        "utc": all(re.search(rf"^{k}:\d{{8}}T\d{{6}}Z$", text, re.M) for k in ("DTSTART", "DTEND")),
    }


async def test_the_confirmed_email_invites_and_later_emails_update_the_event(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    lead = await _lead(api, owner, name="Jo Doe", email="jo@example.com", address=ADDRESS)
    b = await _book(api, owner, start, lead_id=lead["id"])
    await _move(api, owner, b["id"], "confirm")
    later = start + timedelta(days=1, hours=2)
    await _move(api, owner, b["id"], "reschedule", start=later.isoformat())
    await _move(api, owner, b["id"], "cancel", reason="Customer moved away")
    await deliver_outbox(api)

    [pending] = _to(settings.var_dir, "jo@example.com", "We have")
    assert not [p for p in pending.walk() if p.get_content_type() == "text/calendar"]
    [confirmed] = _to(settings.var_dir, "jo@example.com", "is confirmed")
    assert confirmed.get_content_type() == "multipart/mixed"
    assert "is confirmed. See you then." in text_part(confirmed)
    part, event = _event_of(confirmed)
    assert (part.get_filename(), part.get_param("method")) == ("invite.ics", "REQUEST")
    uid = f"booking-{b['id']}@servio"
    assert event == {
        "method": "REQUEST",
        "uid": uid,
        "sequence": 2,
        "start": start.astimezone(UTC),
        "end": start.astimezone(UTC) + timedelta(hours=3),
        "summary": "Booking with Bright Homes",
        "location": "10 Jasper Ave, Edmonton AB T5J 0N3, CA",
        "status": "CONFIRMED",
        "utc": True,
    }

    [moved] = _to(settings.var_dir, "jo@example.com", "Your booking moved")
    _, event = _event_of(moved)
    assert (event["method"], event["uid"], event["sequence"]) == ("REQUEST", uid, 3)
    assert (event["start"], event["end"]) == (
        later.astimezone(UTC),
        later.astimezone(UTC) + timedelta(hours=3),
    )

    [cancelled] = _to(settings.var_dir, "jo@example.com", "is cancelled")
    part, event = _event_of(cancelled)
    assert part.get_param("method") == "CANCEL"
    assert (event["method"], event["uid"], event["sequence"], event["status"]) == (
        "CANCEL",
        uid,
        4,
        "CANCELLED",
    )


async def test_a_pending_booking_moved_or_cancelled_sends_no_calendar_event(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    b = await _book(api, owner, start)
    await _move(api, owner, b["id"], "reschedule", start=(start + timedelta(hours=4)).isoformat())
    await _move(api, owner, b["id"], "cancel")
    await deliver_outbox(api)
    sent = mails(settings.var_dir)
    assert len(sent) == 3
    assert not [p for m in sent for p in m.walk() if p.get_content_type() == "text/calendar"]


async def test_the_invitation_arrives_over_smtp(db_url: str, db: Database, tmp_path: Path) -> None:
    async with smtp_server() as (inbox, port):
        settings = make_settings(
            db_url, var_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{port}?starttls=0"
        )
        async with app_client(settings, raise_errors=False) as api:
            owner, start = await business(api, db)
            b = await _book(api, owner, start)
            await _move(api, owner, b["id"], "confirm")
            assert await deliver_outbox(api) == 2
    [confirmed] = [a.message for a in inbox.arrivals if "confirmed" in a.message["Subject"]]
    assert not (tmp_path / "mail").exists()
    part, event = _event_of(confirmed)
    assert part.get_content_type() == "text/calendar"
    assert (part.get_filename(), part.get_param("method")) == ("invite.ics", "REQUEST")
    assert (event["uid"], event["sequence"], event["start"], event["location"]) == (
        f"booking-{b['id']}@servio",
        2,
        start.astimezone(UTC),
        "",  # no lead, no address: no LOCATION
    )


async def _remind_within(db: Database, org_id: uuid.UUID, hours: int) -> None:
    async with db.unit_of_work(system=True) as s:
        await identity.put_setting(s, org_id, "bookings.reminder_hours", hours)


async def _scan(api: httpx.AsyncClient, owner: Account) -> dict[str, Any]:
    r = await api.post("/v1/admin/email-scan", headers=owner.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _booking_row(db: Database, booking_id: object) -> Booking:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(Booking, uuid.UUID(str(booking_id)))
    assert row is not None
    return row


async def test_a_reminder_goes_once_per_start(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    b = await _book(api, owner, start)
    await _move(api, owner, b["id"], "confirm")
    pending = await _book(api, owner, start + timedelta(hours=5), email="sam@example.com")
    assert await _scan(api, owner) == {"email_scan": {"reminders_queued": 0, "window_hours": 24}}

    await _remind_within(db, owner.org_id, 24 * 14)  # the booking is 5 to 7 days ahead
    assert await _scan(api, owner) == {"email_scan": {"reminders_queued": 1, "window_hours": 336}}
    assert (await _scan(api, owner))["email_scan"] == {"reminders_queued": 0, "window_hours": 336}
    row = await _booking_row(db, b["id"])
    assert row.reminded_for == start.astimezone(UTC)
    assert row.reminded_at is not None
    assert row.version == 2  # a reminder is no edit: If-Match still holds
    got = (await api.get(f"/v1/admin/bookings/{b['id']}", headers=owner.auth)).json()
    assert datetime.fromisoformat(got["reminded_for"]) == start
    assert datetime.fromisoformat(got["reminded_at"]) == row.reminded_at

    later = start + timedelta(days=1)
    await _move(api, owner, b["id"], "reschedule", start=later.isoformat())
    assert (await _scan(api, owner))["email_scan"]["reminders_queued"] == 1
    assert (await _scan(api, owner))["email_scan"]["reminders_queued"] == 0
    await deliver_outbox(api)
    reminders = _to(settings.var_dir, "jo@example.com", "Reminder: your booking is on")
    assert len(reminders) == 2
    assert sorted(str(m["Subject"]).rsplit(" on ", 1)[1] for m in reminders) == sorted(
        [start.strftime("%A %d %B %Y at %H:%M"), later.strftime("%A %d %B %Y at %H:%M")]
    )
    assert "A reminder that your booking is on" in text_part(reminders[0])
    assert not _to(settings.var_dir, "sam@example.com", "Reminder")  # still PENDING: none
    timeline = (await api.get(f"/v1/admin/timeline/booking/{b['id']}", headers=owner.auth)).json()
    assert [e["kind"] for e in timeline] == [
        "created",
        "confirm",
        "reminded",
        "rescheduled",
        "reminded",
    ]
    assert (await _booking_row(db, pending["id"])).reminded_at is None


async def test_the_scheduled_scan_reminds_every_org_and_the_endpoint_only_yours(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    first, start = await business(api, db)
    second, _ = await business(api, db, "bo@example.com")
    for owner, customer in ((first, "jo@example.com"), (second, "kim@example.com")):
        b = await _book(api, owner, start, email=customer)
        await _move(api, owner, b["id"], "confirm")
        await _remind_within(db, owner.org_id, 24 * 14)
    assert (await _scan(api, first))["email_scan"]["reminders_queued"] == 1

    container = app_of(api).state.container
    await due(db, container.jobs, "bookings.send_reminders")
    await container.worker().run(once=True)  # what `servio worker --once` runs
    [run] = await runs_of(db, "bookings.send_reminders")
    assert (run.outcome, run.count) == ("ok", 1)  # the second org's; the first was done
    await deliver_outbox(api)
    for customer in ("jo@example.com", "kim@example.com"):
        assert len(_to(settings.var_dir, customer, "Reminder")) == 1


async def test_one_org_failing_neither_stops_nor_undoes_the_others_reminders(
    api: httpx.AsyncClient, db: Database
) -> None:
    broken, start = await business(api, db)
    fine, _ = await business(api, db, "bo@example.com")
    booked = {}
    for owner, hours in ((broken, "soon"), (fine, 24 * 14)):
        b = await _book(api, owner, start)
        await _move(api, owner, b["id"], "confirm")
        async with db.unit_of_work(system=True) as s:
            await identity.put_setting(s, owner.org_id, "bookings.reminder_hours", hours)
        booked[owner.org_id] = b["id"]

    container = app_of(api).state.container
    await due(db, container.jobs, "bookings.send_reminders")
    await container.worker().run(once=True)
    [run] = await runs_of(db, "bookings.send_reminders")
    assert run.outcome == "error"
    assert run.error == "OrgsFailed: 1 of 2 orgs failed (1 done in the others)"
    assert (await _booking_row(db, booked[broken.org_id])).reminded_at is None
    assert (await _booking_row(db, booked[fine.org_id])).reminded_at is not None


async def test_resend_the_last_email(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    other, _ = await business(api, db, "bo@example.com")
    b = await _book(api, owner, start)
    url = f"/v1/admin/bookings/{b['id']}/resend-last-email"
    await _move(api, owner, b["id"], "confirm")
    r = await api.post(url, headers=owner.auth)
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["template"], body["to"]) == ("bookings/confirmed", "jo@example.com")
    problem(await api.post(url, headers=other.auth), 404, "booking-not-found")
    await deliver_outbox(api)
    confirmed = _to(settings.var_dir, "jo@example.com", "is confirmed")
    assert len(confirmed) == 2
    assert confirmed[0]["Message-ID"] != confirmed[1]["Message-ID"]
    assert [_event_of(m)[1]["sequence"] for m in confirmed] == [2, 2]  # the same message
    timeline = (await api.get(f"/v1/admin/timeline/booking/{b['id']}", headers=owner.auth)).json()
    assert timeline[-1]["kind"] == "email_resent"
    assert timeline[-1]["detail"] == {
        "template": "bookings/confirmed",
        "outbox_id": body["outbox_id"],
    }
    async with db.unit_of_work(system=True) as s:
        resent = await s.get(OutboxMessage, uuid.UUID(body["outbox_id"]))
        assert resent is not None
        assert resent.dedupe_key.startswith(f"email.send:booking:{b['id']}:resend:")


async def test_resend_without_any_email_is_a_conflict(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    b = await _book(api, owner, start)
    async with db.unit_of_work(system=True) as s:  # as for a booking imported without mail
        await s.execute(delete(OutboxMessage))
    problem(
        await api.post(f"/v1/admin/bookings/{b['id']}/resend-last-email", headers=owner.auth),
        409,
        "no-email-sent",
    )
    timeline = (await api.get(f"/v1/admin/timeline/booking/{b['id']}", headers=owner.auth)).json()
    assert [e["kind"] for e in timeline] == ["created"]


async def test_the_referrer_is_credited_and_told_once(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, start = await business(api, db)
    referrer = await _lead(api, owner, name="Ann Lee", email="ann@example.com")
    friend = await _lead(
        api, owner, name="Jo Doe", email="jo@example.com", referred_by=referrer["referral_code"]
    )
    paid = await _book(api, owner, start, lead_id=friend["id"])
    async with db.unit_of_work(owner.org_id) as s:  # what the Stripe webhook does
        assert await bookings.deposit_paid(s, owner.org_id, uuid.UUID(str(paid["id"]))) == (
            "confirmed"
        )
    r = await api.post(f"/v1/admin/bookings/{paid['id']}/confirm", headers=owner.auth)
    problem(r, 409, "illegal-booking-move")
    second = await _book(api, owner, start + timedelta(hours=5), lead_id=friend["id"])
    await _move(api, owner, second["id"], "confirm")
    async with db.unit_of_work(system=True) as s:
        credited = list(
            await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == REFERRAL_CREDITED))
        )
    assert [(m.dedupe_key, m.payload) for m in credited] == [
        (
            f"referral.credited:{friend['id']}",
            {"referrer_id": referrer["id"], "referred_id": friend["id"]},
        )
    ]
    await deliver_outbox(api)  # the credit notice queues the email ...
    await deliver_outbox(api)  # ... which goes out
    [notice] = _to(settings.var_dir, "ann@example.com", "You earned a referral credit")
    assert "Hello Ann Lee," in text_part(notice)
    assert f"Keep sharing your code: {referrer['referral_code']}" in text_part(notice)
    assert not _to(settings.var_dir, "jo@example.com", "You earned")


async def test_unpaid_holds_are_released_by_the_scheduled_job_in_every_org(
    api: httpx.AsyncClient, db: Database
) -> None:
    first, start = await business(api, db)
    second, _ = await business(api, db, "bo@example.com")
    held = [await _book(api, owner, start) for owner in (first, second)]
    kept = await _book(api, first, start + timedelta(hours=5), email="sam@example.com")
    past = utcnow() - timedelta(minutes=1)
    lapsed = [uuid.UUID(str(b["id"])) for b in held]
    async with db.unit_of_work(system=True) as s:
        await s.execute(update(Booking).where(Booking.id.in_(lapsed)).values(hold_expires_at=past))
        await s.execute(
            update(Reservation).where(Reservation.ref_id.in_(lapsed)).values(expires_at=past)
        )

    container = app_of(api).state.container
    await due(db, container.jobs, "bookings.expire_holds")
    await container.worker().run(once=True)  # what `servio worker --once` runs
    [run] = await runs_of(db, "bookings.expire_holds")
    assert (run.outcome, run.count) == ("ok", 2)
    assert [(await _booking_row(db, b["id"])).status for b in [*held, kept]] == [
        "EXPIRED",
        "EXPIRED",
        "PENDING",
    ]
    # The slot is free again for a new customer.
    await _book(api, first, start, email="lee@example.com")
