"""A tattoo studio on WhatsApp against local fakes of the Graph API and Stripe, for the
conversation tests that go past the questions (the golden path, images, design links,
lapsed deposits). The fixtures are in this package's conftest."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from servio.domains.bookings.models import Booking
from servio.domains.conversations.models import Conversation
from servio.domains.identity import service as identity
from servio.domains.identity.models import Org
from servio.domains.messaging.seed import PHONE_NUMBER_ID, TEMPLATES
from servio.domains.payments.models import Payment
from servio.domains.scheduling import service as scheduling
from servio.platform.db import Database, utcnow
from tests.domains.conversations.support import EVERY_DAY
from tests.domains.messaging.conftest import envelope, post_signed, text_message
from tests.support.app import deliver_outbox
from tests.support.fake_graph import FakeGraph
from tests.support.fake_stripe import event, post_event
from tests.support.identity import Account, register

CLIENT = "15551230077"
SECRET = "whsec_golden"
# Every answer up to (not including) the reference images, then the rest.
BEFORE_REFERENCES = (
    "Hi! I'd like a tattoo",
    "A small fine-line swallow",
    "left forearm",
    "medium",
    "fine line",
    "black and grey",
)
AFTER_REFERENCES = ("$400", "tomorrow afternoon", "Robin Park", "yes")


async def studio(api: httpx.AsyncClient, db: Database) -> Account:
    owner = await register(api, "owner@inkwell.example.com", "Inkwell Tattoo")
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency, org.timezone = "tattoo", "CAD", "America/Edmonton"
        for artist in ("Mara", "Jun"):
            await scheduling.add_resource(s, owner.org_id, artist, "artist", EVERY_DAY)
        await identity.put_setting(s, org.id, "whatsapp.phone_number_id", PHONE_NUMBER_ID)
        await identity.put_setting(s, org.id, "whatsapp.templates", TEMPLATES)
    return owner


class Phone:
    """The contact's WhatsApp: each message signed as Meta signs it."""

    def __init__(self, api: httpx.AsyncClient, graph: FakeGraph | None = None) -> None:
        self.api, self.graph, self.n = api, graph, 0

    def _next(self) -> tuple[str, int]:
        self.n += 1
        return f"wamid.G{self.n}", int(utcnow().timestamp()) - 600 + self.n

    async def _deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        r = await post_signed(self.api, envelope([message]))
        assert r.status_code == 200, r.text
        await deliver_outbox(self.api)  # the engine runs (and media is fetched)
        await deliver_outbox(self.api)  # its replies go out
        return dict(r.json())

    async def say(self, text: str = "", reply: tuple[str, str] | None = None) -> dict[str, Any]:
        wamid, ts = self._next()
        message: dict[str, Any] = text_message(wamid, CLIENT, ts, text)
        if reply is not None:
            message = {
                "from": CLIENT,
                "id": wamid,
                "timestamp": str(ts),
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": reply[0], "title": reply[1]},
                },
            }
        return await self._deliver(message)

    async def send(self, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        """A message of another type (``image``, ``audio``, ``sticker``...)."""
        wamid, ts = self._next()
        message = {"from": CLIENT, "id": wamid, "timestamp": str(ts), "type": kind, kind: content}
        return await self._deliver(message)

    async def image(self, media_id: str, data: bytes, caption: str | None = None) -> None:
        assert self.graph is not None
        self.graph.media[media_id] = (data, "image/jpeg")
        content = {"id": media_id, "mime_type": "image/jpeg"}
        assert await self.send("image", content | ({"caption": caption} if caption else {})) == {
            "received": True,
            "stored": 1,
        }


def texts(graph: FakeGraph, start: int = 0) -> list[str]:
    """What the contact read, from message ``start`` on (templates as their name)."""
    out = []
    for sent in graph.sent[start:]:
        body = sent["body"]
        if body["type"] == "template":
            out.append(f"template:{body['template']['name']}")
            continue
        out.append(body.get("text", {}).get("body") or body["interactive"]["body"]["text"])
    return out


def offered_rows(graph: FakeGraph, start: int = 0) -> list[dict[str, str]]:
    """The rows of the last slot offer sent from message ``start`` on."""
    offers = [
        x["body"]["interactive"]["action"]["sections"][0]["rows"]
        for x in graph.sent[start:]
        if x["body"].get("interactive", {}).get("type") == "list"
        and x["body"]["interactive"]["action"]["sections"][0]["rows"][0]["id"] == "slot:1"
    ]
    assert offers, "a slot offer was sent"
    return list(offers[-1])


async def conversation(db: Database, org_id: uuid.UUID) -> Conversation:
    async with db.unit_of_work(org_id) as s:
        row: Conversation | None = await s.scalar(select(Conversation))
    assert row is not None
    return row


async def bookings_and_payments(
    db: Database, org_id: uuid.UUID
) -> tuple[list[Booking], list[Payment]]:
    async with db.unit_of_work(org_id) as s:
        found = list(await s.scalars(select(Booking).order_by(Booking.created_at)))
        paid = list(await s.scalars(select(Payment).order_by(Payment.created_at)))
    return found, paid


async def consult(phone: Phone, *, references: str = "skip", pick: bool = True) -> None:
    """Answer every question (the references with ``references``) and, with ``pick``,
    choose the first time offered."""
    for answer in (*BEFORE_REFERENCES, references, *AFTER_REFERENCES):
        await phone.say(answer)
    if pick:
        assert phone.graph is not None
        rows = offered_rows(phone.graph)
        await phone.say(reply=("slot:1", rows[0]["title"]))


async def stripe_event(
    api: httpx.AsyncClient, kind: str, session: dict[str, Any], event_id: str
) -> dict[str, Any]:
    r = await post_event(api, event(kind, session, event_id), SECRET)
    assert r.status_code == 200, r.text
    return dict(r.json())
