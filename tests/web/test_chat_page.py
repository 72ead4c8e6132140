"""The web chat page ``/chat/{org}``: a session cookie keeps the conversation, each htmx
turn answers the customer's line and the engine's replies as list items, choices are
buttons carrying their reply id, and the cleaning flow ends with the core estimate."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select

from servio.domains.conversations.models import Conversation
from servio.domains.identity.models import Org
from servio.platform.db import Database
from tests.conftest import SQLITE_ONLY
from tests.support.identity import register

# The page over what the engine answers; the engine and its rows run on both databases.
pytestmark = SQLITE_ONLY

HTML = {"Accept": "text/html"}


async def test_a_customer_chats_to_an_estimate_on_the_page(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@gleam-page.example.com", "Gleam")
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        org.vertical, org.currency = "cleaning", "CAD"
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert page.status_code == 200
    assert '<h1 id="chat-title">Chat with Gleam</h1>' in page.text
    assert 'hx-trigger="load"' in page.text
    session = api.cookies["servio_chat"]
    turn = f"/chat/{owner.org_slug}/turn"
    first = await api.post(turn, data={"text": ""})
    assert first.status_code == 200
    assert '<li class="msg me">' not in first.text  # the greeting answers no line
    assert '<li class="msg bot">' in first.text
    for text in ("2", "1"):
        r = await api.post(turn, data={"text": text})
        assert f'<li class="msg me"><span class="visually-hidden">You: </span>{text}</li>' in r.text
    choices = re.findall(r"hx-vals='([^']+)'", r.text)
    assert choices, r.text  # the engine offered buttons; each posts its reply id
    assert '"reply_id"' in html.unescape(choices[0])
    for text in ("standard", "weekly"):
        r = await api.post(turn, data={"text": text})
    assert "$94.50" in r.text or "94.50" in r.text
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(
            select(Conversation).where(
                Conversation.org_id == owner.org_id, Conversation.contact == session
            )
        )
    assert row is not None
    assert row.channel == "web"
    assert row.stage == "NEEDS_FOLLOW_UP"
    assert row.answers["_estimate"]["subtotal_cents"] == 94_50


async def test_an_unknown_business_is_a_404_page(api: httpx.AsyncClient) -> None:
    r = await api.get("/chat/no-such-business", headers=HTML)
    assert r.status_code == 404
    assert "We do not know this business." in r.text
    turn = await api.post("/chat/no-such-business/turn", data={"text": "hi"}, headers=HTML)
    assert turn.status_code == 404


async def test_a_framed_chat_keeps_its_session_without_cookies(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@framed.example.com", "Framed")
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert "frame-ancestors 'self';" in page.headers["content-security-policy"]
    session = page.text.split('name="session" value="')[1].split('"')[0]
    assert session == api.cookies["servio_chat"]
    api.cookies.clear()  # a frame on another site sends no cookie
    for text in ("", "A fox on the forearm"):
        r = await api.post(f"/chat/{owner.org_slug}/turn", data={"text": text, "session": session})
        assert r.status_code == 200
    async with db.unit_of_work(system=True) as s:
        rows = list(
            await s.scalars(select(Conversation).where(Conversation.org_id == owner.org_id))
        )
    assert [row.contact for row in rows] == [session]
