"""The tattoo consultation through the web chat, on both databases: every answer
validated and stored, the budget minimum and the age gate enforced, free-text dates
read into an offer of the artists' free starts; STOP/START, HUMAN and three failures."""

from __future__ import annotations

from datetime import datetime

import httpx

from servio.platform.db import Database
from tests.domains.conversations.support import Chat, conversation, studio, turns
from tests.support.identity import problem


async def _answer_up_to_budget(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("A small fine-line swallow")
    await chat.say("left forearm")
    await chat.say("Small", reply_id="small")
    await chat.say("fine line")
    await chat.say("colour")
    await chat.say("skip")


async def test_full_consultation(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    first = await chat.say("Hi, I'd like a tattoo")
    assert first["stage"] == "QUALIFYING"
    assert first["question"] == "idea"
    assert chat.types == ["text", "text"]
    await chat.say("ok")  # too short
    assert chat.texts == ["Could you describe the idea in a few words (at least 3 characters)?"]
    await chat.say("A small fine-line swallow")
    await chat.say("left forearm")
    assert chat.types == ["list"]  # four sizes: a list, not buttons
    assert [o["id"] for o in chat.last["actions"][0]["options"]][:2] == ["small", "medium"]
    await chat.say("", reply_id="medium")
    await chat.say("Fine line")
    assert chat.types == ["buttons"]  # colour or black and grey
    await chat.say("black and gray")
    assert chat.last["question"] == "references"
    await chat.say("https://example.com/swallow.png")
    await chat.say("$90")  # below the CAD minimum
    assert chat.texts == ["Our minimum for a tattoo is 150 CAD. What budget can you work with?"]
    assert chat.last["question"] == "budget"
    await chat.say("$400")
    assert chat.last["question"] == "preferred_dates"
    await chat.say("maybe next month")
    assert "next Tuesday after 3" in chat.texts[0]
    await chat.say("next Tuesday after 3")
    await chat.say("Robin Park")
    assert chat.types == ["buttons"]
    done = await chat.say("yes")
    assert done["stage"] == "NEEDS_ARTIST_REVIEW"
    assert done["question"] is None
    assert chat.types == ["text", "slot_offer"]
    offer = done["actions"][1]
    assert offer["timezone"] == "America/Edmonton"
    assert 1 <= len(offer["slots"]) <= 3
    for slot in offer["slots"]:
        local = datetime.fromisoformat(slot["local_start"])
        assert local.weekday() == 1
        assert local.hour >= 15
        assert slot["resource_name"] in {"Mara", "Jun"}

    row = await conversation(db, done["conversation_id"])
    assert row.answers["idea"] == "A small fine-line swallow"
    assert row.answers["size"] == "medium"
    assert row.answers["style"] == "fine_line"
    assert row.answers["colour"] == "black_and_grey"
    assert row.answers["references"] == ["https://example.com/swallow.png"]
    assert row.answers["budget"] == {"amount_cents": 40000, "currency": "CAD"}
    assert row.answers["preferred_dates"]["kind"] == "weekday"
    assert row.answers["name"] == "Robin Park"
    assert row.answers["adult"] is True
    assert row.failures == {"idea": 1, "budget": 1, "preferred_dates": 1}
    logged = await turns(db, done["conversation_id"])
    assert len(logged) == 14
    assert [(t.parse_outcome, t.parse_kind) for t in logged if t.parse_outcome] == [
        ("reject", "vague"),
        ("success", "weekday"),
    ]

    picked = await chat.say("", reply_id="slot:1")
    assert picked["stage"] == "NEEDS_ARTIST_REVIEW"
    assert (await conversation(db, done["conversation_id"])).answers["slot"] == offer["slots"][0]

    # The artist approves: the contact is asked for the medium-size deposit, and the
    # picked slot is booked PENDING (no payment provider here: no checkout link).
    r = await api.post(
        f"/v1/conversations/{done['conversation_id']}/stage",
        json={"stage": "AWAITING_DEPOSIT"},
        headers=owner.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "AWAITING_DEPOSIT"
    assert body["actions"] == [
        {
            "type": "deposit_request",
            "text": "To book, we take a deposit of 100 CAD. It comes off the final price "
            "and holds your artist's time.",
            "amount_cents": 10000,
            "currency": "CAD",
            "reason": "Deposit to hold your session; it comes off the final price.",
            "checkout_url": None,
            "booking_id": body["booking_id"],
            "checkout_pending": False,  # no payment provider: nothing to open
        }
    ]
    assert body["booking_id"] is not None


async def test_under_18_is_refused(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    await _answer_up_to_budget(chat)
    await chat.say("500")
    await chat.say("tomorrow morning")
    await chat.say("Sam")
    refused = await chat.say("no")
    assert refused["stage"] == "REJECTED"
    assert "18 or older" in chat.texts[0]
    assert (await chat.say("please?"))["actions"] == []
    row = await conversation(db, refused["conversation_id"])
    assert "adult" not in row.answers
    assert row.stage == "REJECTED"


async def test_stop_and_start(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    await chat.say("hi")
    await chat.say("A koi fish")
    stopped = await chat.say("STOP")
    assert stopped["stage"] == "OPTED_OUT"
    assert chat.types == ["text"]
    assert "START" in chat.texts[0]
    assert (await chat.say("Where do I put it?"))["actions"] == []  # stays opted out
    assert (await conversation(db, stopped["conversation_id"])).opted_out
    back = await chat.say("start")
    assert back["stage"] == "QUALIFYING"
    assert back["question"] == "placement"
    assert chat.texts == ["Welcome back! Let's carry on.", "Where on your body would it go?"]
    row = await conversation(db, back["conversation_id"])
    assert not row.opted_out
    assert row.answers == {"idea": "A koi fish"}


async def test_human_hands_over_and_pauses_the_bot(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    await chat.say("hi")
    handed = await chat.say("human")
    assert handed["stage"] == "HANDED_OVER"
    assert handed["actions"][0]["type"] == "handover"
    assert handed["actions"][0]["reason"] == "asked"
    assert (await chat.say("A dragon on my back"))["actions"] == []
    row = await conversation(db, handed["conversation_id"])
    assert row.handed_over
    assert row.answers == {}
    # Staff hand it back to the bot, which carries on where it was.
    r = await api.post(
        f"/v1/conversations/{handed['conversation_id']}/stage",
        json={"stage": "QUALIFYING"},
        headers=owner.auth,
    )
    assert r.status_code == 200
    assert r.json()["handed_over"] is False
    assert (await chat.say("A dragon on my back"))["question"] == "placement"


async def test_three_failures_hand_over(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    await _answer_up_to_budget(chat)
    for attempt in ("lots", "a fair amount"):
        await chat.say(attempt)
        assert chat.types == ["text"]
        assert chat.last["stage"] == "QUALIFYING"
    third = await chat.say("whatever it costs")
    assert third["stage"] == "HANDED_OVER"
    assert third["actions"][0] == {
        "type": "handover",
        "text": "Let me get a member of our team to help you with that.",
        "reason": "failures",
    }
    assert (await conversation(db, third["conversation_id"])).failures == {"budget": 3}


async def test_illegal_stage_move_is_409(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    chat = Chat(api, owner.org_slug)
    started = await chat.say("hi")
    url = f"/v1/conversations/{started['conversation_id']}/stage"
    body = problem(
        await api.post(url, json={"stage": "BOOKED"}, headers=owner.auth),
        409,
        "illegal-stage-transition",
    )
    assert body["from"] == "QUALIFYING"
    assert "NEEDS_ARTIST_REVIEW" in body["allowed"]
    problem(
        await api.post(url, json={"stage": "DONE"}, headers=owner.auth), 422, "validation-error"
    )
    problem(await api.post(url, json={"stage": "REJECTED"}), 401, "not-authenticated")
    assert (await conversation(db, started["conversation_id"])).stage == "QUALIFYING"


async def test_bad_chat_input(api: httpx.AsyncClient, db: Database) -> None:
    owner = await studio(api, db)
    for body in (
        {"session_id": "short", "text": "hi"},
        {"session_id": "has spaces in it", "text": "hi"},
        {"session_id": "session-0001", "text": "x" * 2001},
    ):
        r = await api.post(f"/v1/chat/messages?org={owner.org_slug}", json=body)
        problem(r, 422, "validation-error")
    r = await api.post("/v1/chat/messages?org=nope", json={"session_id": "session-0001"})
    problem(r, 404, "org-not-found")
