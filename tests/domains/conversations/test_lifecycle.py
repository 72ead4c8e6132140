"""Quiet conversations go stale then abandoned; date answers are counted for
/admin/slot-parse-stats; the vertical files are validated; the cleaning chat prices
its answers with the core estimate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servio.app.seeding import seed_demo
from servio.domains.conversations import flows
from servio.domains.conversations.jobs import mark_stale_and_abandoned
from servio.domains.conversations.models import Conversation
from servio.domains.identity import service as identity
from servio.domains.identity.models import Org
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database, utcnow
from tests.conftest import make_settings
from tests.domains.conversations.support import Chat, conversation, studio
from tests.support.identity import admin_key, new_key, problem, register


async def test_quiet_conversations_go_stale_then_abandoned(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await studio(api, db)
    quiet, other = Chat(api, owner.org_slug), Chat(api, owner.org_slug, "session-0002")
    started = await quiet.say("hi")
    await other.say("hi")
    now = utcnow()
    assert await mark_stale_and_abandoned(db, now + timedelta(hours=47)) == 0
    assert await mark_stale_and_abandoned(db, now + timedelta(hours=49)) == 2
    row = await conversation(db, started["conversation_id"])
    assert (row.stage, row.resume_stage) == ("STALE", "QUALIFYING")
    back = await other.say("A compass")  # a reply wakes it where it was
    assert (back["stage"], back["question"]) == ("QUALIFYING", "placement")
    assert await mark_stale_and_abandoned(db, now + timedelta(days=3)) == 1  # the other
    assert (await conversation(db, started["conversation_id"])).stage == "STALE"
    assert await mark_stale_and_abandoned(db, now + timedelta(days=8)) == 2
    assert (await conversation(db, started["conversation_id"])).stage == "ABANDONED"
    assert (await conversation(db, back["conversation_id"])).stage == "ABANDONED"


async def test_slot_parse_stats(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    for answer in ("hi", "A rose", "wrist", "small", "fine line", "colour", "skip", "300"):
        await chat.say(answer)
    for answer in ("maybe next month", "not monday", "tomorrow morning"):
        await chat.say(answer)
    key = (await new_key(api, owner.auth))["key"]
    r = await api.get("/admin/slot-parse-stats?days=7", headers=admin_key(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_success"] == 1
    assert body["total_reject"] == 2
    assert body["success"] == {"relative_day": 1}
    assert sum(body["reject"].values()) == 2
    assert "vague" in body["reject"]
    problem(await api.get("/admin/slot-parse-stats"), 401, "not-authenticated")


async def test_cleaning_chat_prices_with_the_core_estimate(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@shine.example.com", "Shine")
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency = "cleaning", "CAD"
    chat = Chat(api, owner.org_slug)
    await chat.say("hello")
    await chat.say("two")
    assert chat.texts == ["Please give the number of bedrooms, from 0 to 10."]
    await chat.say("2")
    await chat.say("1.25")
    assert chat.last["question"] == "baths"
    await chat.say("1")
    await chat.say("standard")
    done = await chat.say("weekly")
    assert done["stage"] == "NEEDS_FOLLOW_UP"
    assert chat.texts == ["Thanks! Here is your estimate.", "Your estimate: 94.50 CAD."]
    row = await conversation(db, done["conversation_id"])
    assert row.answers["_estimate"]["subtotal_cents"] == 94_50
    assert (row.answers["beds"], row.answers["baths"], row.answers["frequency"]) == (2, 1, "weekly")


def test_the_shipped_flows_are_valid() -> None:
    found = flows.read_flows()
    assert set(found) >= {"tattoo", "cleaning"}
    tattoo = found["tattoo"]
    assert [q.key for q in tattoo.questions][-1] == "adult"
    assert tattoo.deposit is not None
    assert tattoo.deposit.amount_cents["small"] == 5000


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('greeting = "hi"\ndone = "ok"\nquestions = []', "questions"),
        (
            'greeting = "hi"\ndone = "ok"\n[[questions]]\nkey = "size"\ntype = "choice"\n'
            'ask = "?"\nreask = "?"\noptions = [{ value = "s", label = "S" }]',
            "at least two options",
        ),
        (
            'greeting = "hi"\ndone = "ok"\n[[questions]]\nkey = "budget"\ntype = "money"\n'
            'ask = "?"\nreask = "?"\nminimums = { CAD = 100 }',
            "below_minimum",
        ),
        ('greeting = "hi"\ndone = "ok"\nsurprise = 1', "surprise"),
    ],
)
def test_a_bad_flow_is_refused_with_the_reason(tmp_path: Path, table: str, expected: str) -> None:
    text = 'name = "piercing"\n' + table
    bad = tmp_path / "piercing.toml"
    bad.write_text(
        text.replace("[[questions]]", "[[conversation.questions]]").replace(
            'greeting = "hi"', '[conversation]\ngreeting = "hi"', 1
        ),
        "utf-8",
    )
    with pytest.raises(flows.InvalidFlow) as refused:
        flows.read_flows(tmp_path)
    assert "piercing.toml" in refused.value.detail
    assert expected in str(refused.value.extra["errors"])


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[conversation\n", "utf-8")
    with pytest.raises(flows.InvalidFlow, match=r"broken\.toml: the file is not valid TOML"):
        flows.read_flows(tmp_path)


async def test_demo_studio_seed(db_url: str, db: Database, tmp_path: Path) -> None:
    settings = make_settings(db_url, var_dir=tmp_path)
    await seed_demo(settings, show_progress=False)
    seeded = await seed_demo(settings, show_progress=False)  # idempotent
    assert len(seeded["demo tattoo studio"]) == 2
    async with db.unit_of_work(system=True) as s:
        org = await identity.get_org_by_slug(s, "inkwell-tattoo")
        artists = await scheduling.list_resources(s, org.id)
        rows = list(await s.scalars(select(Conversation).where(Conversation.org_id == org.id)))
    assert sorted((a.name, a.kind) for a in artists) == [
        ("Jun Okafor", "artist"),
        ("Mara Lind", "artist"),
    ]
    assert sorted((r.channel, r.stage, r.question) for r in rows) == [
        ("web", "QUALIFYING", "colour"),
        ("whatsapp", "QUALIFYING", "style"),
    ]


async def test_the_chat_turn_route_names_the_business_in_the_body(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@gleam.example.com", "Gleam")
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency = "cleaning", "CAD"
    answers = ["hi", "2", "1", "standard", "weekly"]
    for n, text in enumerate(answers):
        r = await api.post(
            "/v1/chat/turn",
            json={"org": owner.org_slug, "session_id": "turn-session-1", "text": text},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"reply", "actions", "state"}
        assert body["reply"] == "\n".join(a["text"] for a in body["actions"])
        if n < len(answers) - 1:
            assert body["estimate"] is None
    assert body["state"] == "NEEDS_FOLLOW_UP"
    assert body["estimate"]["subtotal_cents"] == 94_50
    assert "94.50 CAD" in body["reply"]
    missing = await api.post("/v1/chat/turn", json={"session_id": "turn-session-1", "text": "x"})
    problem(missing, 422, "org-required")
