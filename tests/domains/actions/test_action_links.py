"""Action links /a/{token}: made by staff, opened without effect, used once, refused
when used, expired, tampered with or aimed at another org's booking; two uses at once
act once; /a/* is rate limited per client address."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from servio.domains.actions import service
from servio.domains.actions.models import ActionLink
from servio.domains.bookings.models import Booking, BookingEvent
from servio.domains.conversations.models import Conversation
from servio.domains.identity.models import Org
from servio.platform.db import Database, utcnow
from servio.platform.security.opaque import digest
from tests.support.bookings import booking_body, business
from tests.support.identity import Account, problem, register


async def _pending(api: httpx.AsyncClient, owner: Account, start: Any) -> str:
    r = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "PENDING"
    return str(r.json()["id"])


async def _link(
    api: httpx.AsyncClient, who: Account, kind: str, subject: str, ttl: int = 60
) -> str:
    r = await api.post(
        "/v1/admin/action-links",
        json={"kind": kind, "subject_id": subject, "ttl_minutes": ttl},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].startswith("http://127.0.0.1:8000/a/")
    left = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(minutes=ttl - 1) < left <= timedelta(minutes=ttl)
    return str(body["url"].split("/a/", 1)[1])


async def _booking(db: Database, booking_id: str) -> tuple[Booking, list[BookingEvent]]:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(Booking, uuid.UUID(booking_id))
        events = list(
            await s.scalars(
                select(BookingEvent)
                .where(BookingEvent.booking_id == uuid.UUID(booking_id))
                .order_by(BookingEvent.created_at)
            )
        )
    assert row is not None
    return row, events


async def _row(db: Database, token: str) -> ActionLink:
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(select(ActionLink).where(ActionLink.token_hash == digest(token)))
    assert row is not None
    return row


async def test_a_link_confirms_a_booking_once(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    token = await _link(api, owner, "booking.confirm", booking)
    row = await _row(db, token)
    assert token not in (row.token_hash, str(row.id))  # only the digest is stored
    assert (row.org_id, row.kind, str(row.subject_id)) == (owner.org_id, "booking.confirm", booking)
    assert row.created_by == f"user:{owner.user_id}"

    page = await api.get(f"/a/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'<form method="post" action="/a/{token}">' in page.text
    assert "Confirm the booking" in page.text
    assert (await _booking(db, booking))[0].status == "PENDING"  # opening changes nothing

    done = await api.post(f"/a/{token}")
    assert done.status_code == 200, done.text
    assert "The booking is confirmed." in done.text
    b, events = await _booking(db, booking)
    assert b.status == "CONFIRMED"
    assert [e.kind for e in events].count("confirm") == 1
    row = await _row(db, token)
    assert row.used_at is not None
    assert row.used_by_ip == "127.0.0.1"
    assert row.result == {"ok": True, "booking_status": "CONFIRMED"}

    again = await api.post(f"/a/{token}")
    assert again.status_code == 410
    assert "already used" in again.text
    opened = await api.get(f"/a/{token}")
    assert opened.status_code == 410
    assert "already used" in opened.text
    assert [e.kind for e in (await _booking(db, booking))[1]].count("confirm") == 1


async def test_a_link_marks_a_deposit_paid(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    token = await _link(api, owner, "deposit.mark_paid", booking)
    done = await api.post(f"/a/{token}")
    assert done.status_code == 200, done.text
    assert "deposit is marked paid" in done.text
    b, events = await _booking(db, booking)
    assert (b.status, b.hold_expires_at) == ("CONFIRMED", None)
    marked = [e for e in events if e.kind == "deposit_marked_paid"]
    assert len(marked) == 1
    assert marked[0].actor == f"user:{owner.user_id}"
    row = await _row(db, token)
    assert row.result == {"ok": True, "outcome": "confirmed", "booking_status": "CONFIRMED"}


async def test_a_refused_action_uses_the_link_and_says_why(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    token = await _link(api, owner, "booking.confirm", booking)
    cancelled = await api.post(f"/v1/admin/bookings/{booking}/cancel", json={}, headers=owner.auth)
    assert cancelled.status_code == 200, cancelled.text
    refused = await api.post(f"/a/{token}")
    assert refused.status_code == 409
    assert "A CANCELLED booking cannot confirm." in refused.text
    assert (await _booking(db, booking))[0].status == "CANCELLED"
    row = await _row(db, token)
    assert row.result is not None
    assert row.result["ok"] is False
    assert row.result["error"] == "illegal-booking-move"
    assert (await api.post(f"/a/{token}")).status_code == 410


async def _design(db: Database, owner: Account) -> str:
    """A web-chat conversation of the owner's tattoo studio waiting on the artist."""
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical = "tattoo"
        row = Conversation(
            org_id=owner.org_id,
            channel="web",
            contact="session-design-1",
            vertical="tattoo",
            stage="NEEDS_ARTIST_REVIEW",
            answers={"idea": "a swallow", "size": "small"},
        )
        s.add(row)
        await s.flush()
        return str(row.id)


async def test_design_decisions_are_kept_on_the_link(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "ada@example.com", "Inkwell")
    design = await _design(db, owner)
    approve = await _link(api, owner, "design.approve", design)
    reject = await _link(api, owner, "design.reject", design)
    assert "The design is approved" in (await api.post(f"/a/{approve}")).text
    late = await api.post(f"/a/{reject}")  # the first decision stands
    assert late.status_code == 409
    assert "The request is at AWAITING_DEPOSIT" in late.text
    async with db.unit_of_work(owner.org_id) as s:
        found = await service.decisions(s, owner.org_id, uuid.UUID(design))
        row = await s.get(Conversation, uuid.UUID(design))
    assert [d.decision for d in found] == ["approved"]
    assert (await _row(db, reject)).result == {
        "ok": False,
        "error": "design-already-decided",
        "detail": "The request is at AWAITING_DEPOSIT; only a design waiting for review "
        "is decided.",
    }
    assert (await _row(db, approve)).result == {
        "ok": True,
        "decision": "approved",
        "stage": "AWAITING_DEPOSIT",
        "booking_id": None,
    }
    assert row is not None
    assert row.stage == "AWAITING_DEPOSIT"


async def test_a_design_link_needs_a_conversation_of_the_org(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ada@example.com", "Inkwell")
    r = await api.post(
        "/v1/admin/action-links",
        json={"kind": "design.approve", "subject_id": str(uuid.uuid4()), "ttl_minutes": 60},
        headers=owner.auth,
    )
    problem(r, 404, "conversation-not-found")
    bob = await register(api, "bob@example.com", "Other Co")
    r = await api.post(
        "/v1/admin/action-links",
        json={"kind": "design.reject", "subject_id": await _design(db, owner), "ttl_minutes": 60},
        headers=bob.auth,
    )
    problem(r, 404, "conversation-not-found")


async def test_expired_tampered_and_unknown_links(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "ada@example.com", "Inkwell")
    token = await _link(api, owner, "design.approve", await _design(db, owner))
    async with db.unit_of_work(system=True) as s:
        await s.execute(update(ActionLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    for method in ("GET", "POST"):
        expired = await api.request(method, f"/a/{token}")
        assert expired.status_code == 410
        assert "expired" in expired.text
        assert "already used" not in expired.text
    assert (await _row(db, token)).used_at is None
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "not-a-token", "x" * 400):
        r = await api.post(f"/a/{bad}")
        assert r.status_code == 404
        assert "not valid" in r.text
    async with db.unit_of_work(system=True) as s:
        await s.execute(update(ActionLink).values(token_hash="0" * 64))
    assert (await api.get(f"/a/{token}")).status_code == 404  # genuine, but not ours


async def test_another_orgs_booking_cannot_be_reached(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    bob = await register(api, "bob@example.com", "Other Co")
    r = await api.post(
        "/v1/admin/action-links",
        json={"kind": "booking.confirm", "subject_id": booking, "ttl_minutes": 60},
        headers=bob.auth,
    )
    problem(r, 404, "booking-not-found")
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(ActionLink.id)) is None
    assert (await _booking(db, booking))[0].status == "PENDING"


async def test_making_a_link_needs_bookings_write_and_a_known_kind(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "ada@example.com", "Inkwell")
    body = {"kind": "booking.confirm", "subject_id": str(uuid.uuid4())}
    problem(await api.post("/v1/admin/action-links", json=body), 401, "not-authenticated")
    wrong = body | {"kind": "booking.delete"}
    r = await api.post("/v1/admin/action-links", json=wrong, headers=owner.auth)
    assert r.status_code == 422
    too_long = body | {"kind": "design.approve", "ttl_minutes": 43201}
    assert (
        await api.post("/v1/admin/action-links", json=too_long, headers=owner.auth)
    ).status_code == 422


async def test_two_uses_at_once_act_once(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    token = await _link(api, owner, "booking.confirm", booking)
    first, second = await asyncio.gather(api.post(f"/a/{token}"), api.post(f"/a/{token}"))
    assert sorted([first.status_code, second.status_code]) == [200, 410]
    b, events = await _booking(db, booking)
    assert b.status == "CONFIRMED"
    assert [e.kind for e in events].count("confirm") == 1


async def test_two_service_uses_at_once_act_once(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    booking = await _pending(api, owner, start)
    token = await _link(api, owner, "deposit.mark_paid", booking)
    outcomes = await asyncio.gather(
        *(service.use(db, token, secret=_secret(api), ip="10.0.0.1") for _ in range(3)),
        return_exceptions=True,
    )
    done = [o for o in outcomes if not isinstance(o, BaseException)]
    gone = [o for o in outcomes if isinstance(o, service.ActionLinkGone)]
    assert (len(done), len(gone)) == (1, 2), outcomes
    events = (await _booking(db, booking))[1]
    assert [e.kind for e in events].count("deposit_marked_paid") == 1


def _secret(api: httpx.AsyncClient) -> str:
    app = api.app  # type: ignore[attr-defined]
    return str(app.state.container.settings.secret_key.get_secret_value())


async def test_the_eleventh_request_to_a_link_in_a_minute_is_429(api: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await api.get("/a/not-a-token")).status_code == 404
    refused = await api.post("/a/not-a-token")
    problem(refused, 429, "rate-limited")
    assert int(refused.headers["retry-after"]) > 0
    assert (await api.get("/admin/leads")).status_code == 429  # one budget for /admin and /a
