"""A consultation that reaches NEEDS_ARTIST_REVIEW emails the studio's owners and admins
once, with its answers and single-use Approve and Reject links; using Approve from the
email takes the booking path and tells the contact, and Reject is then refused."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from servio.domains.conversations.service import APPROVED
from servio.platform.db import Database
from servio.platform.outbox import OutboxMessage
from tests.domains.conversations.whatsapp.support import Phone, consult, conversation, studio, texts
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.identity import mails, text_part

SUBJECT = "A tattoo request is waiting for your review"


def _link(body: str, label: str) -> str:
    """The path of the action link the email gives after ``label``."""
    line = next(line for line in body.splitlines() if line.startswith(label))
    path = urlsplit(line.split(": ", 1)[1].strip()).path
    assert path.startswith("/a/")
    return path


async def test_the_studio_is_asked_to_review_and_approves_from_the_email(
    api: httpx.AsyncClient, db: Database, graph: FakeGraph, tmp_path: Path
) -> None:
    owner = await studio(api, db)
    phone = Phone(api, graph)
    await consult(phone)
    row = await conversation(db, owner.org_id)
    assert row.stage == "NEEDS_ARTIST_REVIEW"
    await deliver_outbox(api)
    await deliver_outbox(api)  # the request, then the email it queued
    [mail] = [m for m in mails(tmp_path / "var") if m["Subject"] == SUBJECT]
    assert mail["To"] == owner.email
    body = text_part(mail)
    assert "Idea: " in body
    assert "Placement: " in body
    assert "Budget: " in body
    async with db.unit_of_work(system=True) as s:
        requests = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "conversation.review_requested")
        )
    assert requests == 1  # once per arrival at the stage, not per later message

    approve, reject = _link(body, "Approve the design"), _link(body, "Decline it")
    before = len(graph.sent)
    used = await api.post(approve)
    assert used.status_code == 200, used.text
    await deliver_outbox(api)  # the deposit's checkout is opened, once the approval committed
    await deliver_outbox(api)  # what the contact is told goes out
    [told] = texts(graph, before)
    assert told.startswith(APPROVED)
    row = await conversation(db, owner.org_id)
    assert row.stage == "AWAITING_DEPOSIT"
    refused = await api.post(reject)
    assert refused.status_code == 409, refused.text
    assert (await conversation(db, owner.org_id)).stage == "AWAITING_DEPOSIT"
