"""One contact's WhatsApp messages apply one at a time, in the order of Meta's
timestamps (then message ids), however they are batched and however many of them the
worker delivers at once: answers are recorded in the order they were written, STOP
then START leaves the contact opted in, and a message that arrives after a newer one
was applied is kept on the transcript without moving the conversation."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from servio.domains.conversations.models import Conversation, ConversationTurn
from servio.domains.messaging.models import ChannelContact
from servio.platform.db import Database
from tests.domains.conversations.whatsapp.support import studio
from tests.domains.messaging.conftest import envelope, post_signed, text_message
from tests.support.app import app_of, deliver_outbox

T0 = 1_900_000_000
CONSULTATION = ("hi", "A koi fish", "left forearm", "medium")
CONTACTS = [f"1555124{n:04d}" for n in range(10)]


def _batch(sender: str, texts: tuple[str, ...], first: int = 0) -> list[dict[str, Any]]:
    """The contact's messages, a second apart from ``T0 + first`` seconds on."""
    return [
        text_message(f"wamid.{sender}.{first + n}", sender, T0 + first + n, text)
        for n, text in enumerate(texts)
    ]


async def _post(api: httpx.AsyncClient, messages: list[dict[str, Any]]) -> None:
    r = await post_signed(api, envelope(messages))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == len(messages)


async def _drain(api: httpx.AsyncClient) -> None:
    """Run the worker until the outbox is empty: the engine, then the replies."""
    assert app_of(api).state.container.settings.outbox_concurrency > 1
    for _ in range(20):
        if await deliver_outbox(api) == 0:
            return
    raise AssertionError("the outbox never emptied")


async def _conversations(db: Database, org_id: uuid.UUID) -> dict[str, Conversation]:
    async with db.unit_of_work(org_id) as s:
        rows = await s.scalars(select(Conversation).where(Conversation.channel == "whatsapp"))
        return {row.contact.lstrip("+"): row for row in rows}


async def _turns(db: Database, org_id: uuid.UUID, conversation_id: uuid.UUID) -> list[Any]:
    async with db.unit_of_work(org_id) as s:
        return list(
            await s.scalars(
                select(ConversationTurn)
                .where(ConversationTurn.conversation_id == conversation_id)
                .order_by(ConversationTurn.created_at)
            )
        )


async def test_ten_contacts_batches_are_answered_in_the_order_written(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await studio(api, db)
    for contact in CONTACTS:
        await _post(api, _batch(contact, CONSULTATION))
    await _drain(api)

    found = await _conversations(db, owner.org_id)
    assert sorted(found) == CONTACTS
    out_of_order = {}
    for contact, row in found.items():
        got = (row.answers.get("idea"), row.answers.get("placement"), row.answers.get("size"))
        turns = tuple(t.text for t in await _turns(db, owner.org_id, row.id))
        if (got, row.question, turns) != (CONSULTATION[1:], "style", CONSULTATION):
            out_of_order[contact] = (got, row.question, turns)
    assert out_of_order == {}, f"{len(CONTACTS) - len(out_of_order)}/10 in order"


async def test_one_webhook_for_every_contact_in_shuffled_order_applies_by_timestamp(
    api: httpx.AsyncClient, db: Database
) -> None:
    """Meta may batch many contacts' messages in one webhook, in any order."""
    owner = await studio(api, db)
    messages = [m for contact in CONTACTS for m in _batch(contact, CONSULTATION)]
    random.Random(14).shuffle(messages)
    await _post(api, messages)
    await _drain(api)

    found = await _conversations(db, owner.org_id)
    assert sorted(found) == CONTACTS
    for row in found.values():
        got = (row.answers.get("idea"), row.answers.get("placement"), row.answers.get("size"))
        assert (got, row.question) == (CONSULTATION[1:], "style")
        turns = await _turns(db, owner.org_id, row.id)
        assert [t.text for t in turns] == list(CONSULTATION)
        assert [t.sent_at for t in turns] == sorted(t.sent_at for t in turns if t.sent_at)


async def test_stop_then_start_in_one_batch_leaves_every_contact_opted_in(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await studio(api, db)
    for contact in CONTACTS:
        await _post(api, _batch(contact, ("Hi", "STOP", "START")))
    await _drain(api)

    found = await _conversations(db, owner.org_id)
    assert sorted(found) == CONTACTS
    assert [c for c, row in found.items() if row.opted_out] == []
    assert {row.stage for row in found.values()} == {"QUALIFYING"}
    async with db.unit_of_work(owner.org_id) as s:
        rows = await s.scalars(select(ChannelContact))
        contacts = {c.address.lstrip("+"): c.opted_out for c in rows}
    assert contacts == dict.fromkeys(CONTACTS, False)


async def test_batches_delivered_out_of_order_apply_in_timestamp_order(
    api: httpx.AsyncClient, db: Database
) -> None:
    """Both batches arrive before the worker runs: the later one first."""
    owner = await studio(api, db)
    [contact] = CONTACTS[:1]
    older, newer = _batch(contact, CONSULTATION[:2]), _batch(contact, CONSULTATION[2:], 2)
    await _post(api, newer)
    await _post(api, older)
    await _drain(api)

    row = (await _conversations(db, owner.org_id))[contact]
    assert (row.answers["idea"], row.answers["placement"], row.answers["size"]) == CONSULTATION[1:]
    assert row.question == "style"
    turns = await _turns(db, owner.org_id, row.id)
    assert [t.text for t in turns] == list(CONSULTATION)
    assert [t.late for t in turns] == [False] * 4


async def test_a_message_older_than_the_last_applied_is_kept_but_moves_nothing(
    api: httpx.AsyncClient, db: Database
) -> None:
    """The newer message was applied before the older one arrived."""
    owner = await studio(api, db)
    [contact] = CONTACTS[:1]
    await _post(api, _batch(contact, ("hi",)))
    await _drain(api)
    await _post(api, _batch(contact, ("left forearm",), 2))
    await _drain(api)
    before = (await _conversations(db, owner.org_id))[contact]

    await _post(api, _batch(contact, ("A koi fish",), 1))  # written before "left forearm"
    await _drain(api)

    row = (await _conversations(db, owner.org_id))[contact]
    assert (row.stage, row.question, row.version) == (before.stage, before.question, before.version)
    assert row.answers == before.answers == {"idea": "left forearm"}
    turns = await _turns(db, owner.org_id, row.id)
    assert [(t.text, t.late) for t in turns] == [
        ("hi", False),
        ("left forearm", False),
        ("A koi fish", True),
    ]
    assert turns[-1].actions == []
    late, newer = turns[-1].sent_at, turns[1].sent_at
    assert late is not None
    assert newer is not None
    assert late < newer
