"""Retention cleanup, on both databases: ``POST /v1/admin/retention/cleanup`` deletes
the caller's transcripts (turns and stored messages) older than the transcript
retention, and LOST leads and ended conversations (with their unbooked leads) older
than the stale-lead retention; everything else, and every other business, stays."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.identity import service as identity
from servio.domains.intake.models import Lead
from servio.domains.messaging.models import ChannelMessage
from servio.platform.db import Database, utcnow
from tests.support.identity import register

OLD, MID, RECENT = timedelta(days=400), timedelta(days=200), timedelta(days=1)


def _lead(org_id: uuid.UUID, name: str, status: str, age: timedelta) -> Lead:
    when = utcnow() - age
    return Lead(
        org_id=org_id,
        name=name,
        email=f"{name}@example.com",
        currency="USD",
        status=status,
        referral_code=name.upper()[:16],
        created_at=when,
        updated_at=when,
    )


def _conversation(
    org_id: uuid.UUID, contact: str, stage: str, age: timedelta, lead: Lead | None = None
) -> Conversation:
    return Conversation(
        org_id=org_id,
        channel="web",
        contact=contact,
        vertical="tattoo",
        stage=stage,
        lead_id=lead.id if lead else None,
        updated_at=utcnow() - age,
    )


def _turn(org_id: uuid.UUID, conversation: Conversation, age: timedelta) -> ConversationTurn:
    return ConversationTurn(
        org_id=org_id,
        conversation_id=conversation.id,
        text="hello",
        stage=conversation.stage,
        created_at=utcnow() - age,
    )


def _message(org_id: uuid.UUID, age: timedelta) -> ChannelMessage:
    return ChannelMessage(
        org_id=org_id,
        channel="whatsapp",
        contact="+15551230001",
        direction="in",
        kind="text",
        text="hi",
        status="received",
        created_at=utcnow() - age,
    )


async def _seed(db: Database, org_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """One of each kind of row; the names say what the cleanup should do."""
    async with db.unit_of_work(system=True) as s:
        leads = {
            "lost_old": _lead(org_id, "lostold", "LOST", OLD),
            "lost_recent": _lead(org_id, "lostrecent", "LOST", RECENT),
            "new_old": _lead(org_id, "newold", "NEW", OLD),
            "linked": _lead(org_id, "linked", "NEW", OLD),
            "booked_linked": _lead(org_id, "booked", "BOOKED", OLD),
        }
        s.add_all(leads.values())
        await s.flush()
        active = _conversation(org_id, "active-0001", "QUALIFYING", OLD)
        abandoned = _conversation(org_id, "gone-0001", "ABANDONED", OLD, leads["linked"])
        rejected = _conversation(org_id, "rejected-01", "REJECTED", OLD, leads["booked_linked"])
        stale_recent = _conversation(org_id, "stale-00001", "STALE", RECENT)
        s.add_all([active, abandoned, rejected, stale_recent])
        await s.flush()
        old_turn, new_turn = _turn(org_id, active, MID), _turn(org_id, active, RECENT)
        s.add_all([old_turn, new_turn, _turn(org_id, abandoned, RECENT)])
        s.add_all([_message(org_id, MID), _message(org_id, RECENT)])
        await s.flush()
        ids = {f"lead_{k}": v.id for k, v in leads.items()}
        return ids | {
            "active": active.id,
            "stale_recent": stale_recent.id,
            "new_turn": new_turn.id,
        }


async def _left(db: Database, org_id: uuid.UUID) -> dict[str, Any]:
    async with db.unit_of_work(system=True) as s:

        async def ids(model: Any) -> set[uuid.UUID]:
            return set(await s.scalars(select(model.id).where(model.org_id == org_id)))

        messages = await s.scalar(
            select(func.count()).select_from(ChannelMessage).where(ChannelMessage.org_id == org_id)
        )
        return {
            "leads": await ids(Lead),
            "conversations": await ids(Conversation),
            "turns": await ids(ConversationTurn),
            "messages": messages,
        }


async def test_cleanup_deletes_what_is_past_retention_in_the_callers_org_only(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@keep.example.com", "Keep Studio")
    other = await register(api, "owner@other.example.com", "Other Studio")
    mine = await _seed(db, owner.org_id)
    await _seed(db, other.org_id)
    before_other = await _left(db, other.org_id)

    r = await api.post("/v1/admin/retention/cleanup", headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "deleted": {"transcripts": 2, "messages": 1, "leads": 2, "conversations": 2},
        "retention": {"transcript_days": 180, "stale_lead_days": 365},
    }
    left = await _left(db, owner.org_id)
    assert left["leads"] == {
        mine["lead_lost_recent"],
        mine["lead_new_old"],
        mine["lead_booked_linked"],
    }
    assert left["conversations"] == {mine["active"], mine["stale_recent"]}
    assert left["turns"] == {mine["new_turn"]}
    assert left["messages"] == 1
    assert await _left(db, other.org_id) == before_other

    again = await api.post("/v1/admin/retention/cleanup", headers=owner.auth)
    assert set(again.json()["deleted"].values()) == {0}
    r = await api.get("/v1/admin/audit", params={"action": "retention.cleaned"}, headers=owner.auth)
    assert len(r.json()["items"]) == 2


async def test_a_shorter_retention_deletes_more(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "owner@short.example.com", "Short Studio")
    await _seed(db, owner.org_id)
    body = {"transcript_days": 1, "stale_lead_days": 100}
    r = await api.put("/v1/admin/retention", json=body, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert (await api.get("/v1/admin/retention", headers=owner.auth)).json() == body
    r = await api.post("/v1/admin/retention/cleanup", headers=owner.auth)
    deleted = r.json()["deleted"]
    assert (deleted["transcripts"], deleted["messages"]) == (3, 2)  # a day old is too old
    assert (deleted["leads"], deleted["conversations"]) == (2, 2)
    assert r.json()["retention"] == body


async def test_bad_retention_settings_are_422(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "owner@bad.example.com", "Bad Studio")
    for body in (
        {"transcript_days": 0, "stale_lead_days": 365},
        {"transcript_days": 180, "stale_lead_days": 5000},
        {"transcript_days": "soon", "stale_lead_days": 365},
    ):
        r = await api.put("/v1/admin/retention", json=body, headers=owner.auth)
        assert r.status_code == 422, r.text
    async with db.unit_of_work(system=True) as s:
        await identity.put_setting(s, owner.org_id, "retention.transcript_days", -3)
    r = await api.post("/v1/admin/retention/cleanup", headers=owner.auth)
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("retention-settings-invalid")
    assert r.json()["field"] == "retention.transcript_days"
