"""One ``servio worker --once`` answers an inbound WhatsApp message: the engine runs on
the stored message and the reply it queues is delivered by the same run."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from servio.platform.db import Database, utcnow
from servio.platform.outbox import OutboxMessage
from tests.domains.conversations.whatsapp.support import CLIENT, studio, texts
from tests.domains.messaging.conftest import envelope, post_signed, text_message
from tests.support.app import app_of
from tests.support.fake_graph import FakeGraph


async def test_one_worker_once_delivers_the_reply_to_an_inbound_message(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph
) -> None:
    await studio(api, db)
    hello = text_message(
        "wamid.ONCE1", CLIENT, int(utcnow().timestamp()) - 60, "Hi! I'd like a tattoo"
    )
    received = await post_signed(api, envelope([hello]))
    assert received.status_code == 200, received.text
    assert graph.sent == []

    await app_of(api).state.container.worker().run(once=True)  # what `worker --once` runs

    [reply] = texts(graph)
    assert reply  # the engine's first question, delivered
    assert [sent["body"]["to"] for sent in graph.sent] == [CLIENT]
    async with db.unit_of_work(system=True) as s:
        statuses = {(m.kind, m.status) for m in await s.scalars(select(OutboxMessage))}
    assert statuses, "the inbound message and the reply went through the outbox"
    assert {status for _kind, status in statuses} == {"done"}, statuses
