"""The unsubscribe link of a marketing email: GET asks, POST (the button or a mail
client's one-click) suppresses the address for the sending org, and the next marketing
email to it is skipped while transactional mail still arrives."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select

from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.email import EmailSuppression
from tests.support.app import app_of, deliver_outbox
from tests.support.identity import mails
from tests.support.orgs import add_org
from tests.support.outbox import outbox_rows, queue_email


async def suppressions(db: Database) -> list[tuple[object, str, str]]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(select(EmailSuppression))
        return [(r.org_id, r.address, r.reason) for r in rows]


async def test_one_click_unsubscribe_stops_the_next_marketing_email(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "bright-homes")
    await queue_email(db, "news-1", to="Ann@Example.com", org_id=org.id, category="marketing")
    await deliver_outbox(api)
    [mail] = mails(settings.var_dir)
    found = re.search(r"<http://127\.0\.0\.1:8000(/unsubscribe/[^>]+)>", mail["List-Unsubscribe"])
    assert found, mail["List-Unsubscribe"]
    path = found.group(1)

    page = await api.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "ann@example.com" in page.text
    assert f'<form method="post" action="{path}">' in page.text
    assert await suppressions(db) == []  # a GET (a link scanner, say) changes nothing

    for _ in range(2):
        done = await api.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        assert "You are unsubscribed" in done.text
    assert await suppressions(db) == [(org.id, "ann@example.com", "unsubscribe")]

    await queue_email(db, "news-2", to="ann@example.com", org_id=org.id, category="marketing")
    await queue_email(db, "reset", to="ann@example.com", org_id=org.id)
    await deliver_outbox(api)
    statuses = {r.dedupe_key: r.status for r in await outbox_rows(db)}
    assert statuses == {
        "email.send:news-1": "done",
        "email.send:news-2": "skipped",
        "email.send:reset": "done",
    }
    keys = [m["X-Servio-Message-Key"] for m in mails(settings.var_dir)]
    assert keys == ["email.send:news-1", "email.send:reset"]


async def test_a_forged_or_cut_link_is_refused(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await queue_email(db, "news", category="marketing")
    await deliver_outbox(api)
    [mail] = mails(settings.var_dir)
    token = re.search(r"/unsubscribe/([^>]+)>", mail["List-Unsubscribe"])
    assert token
    for bad in (token.group(1)[:-3], token.group(1).replace(".", ".x", 1), "nonsense"):
        for method in ("GET", "POST"):
            r = await api.request(method, f"/unsubscribe/{bad}")
            assert r.status_code == 404, (method, bad)
            assert "not valid" in r.text
    assert await suppressions(db) == []


async def test_unsubscribing_from_a_deleted_org_still_answers(
    api: httpx.AsyncClient, db: Database
) -> None:
    links = app_of(api).state.container.unsubscribe_links
    r = await api.post(f"/unsubscribe/{links.token('ann@example.com', uuid.uuid4())}")
    assert r.status_code == 200
    assert "You are unsubscribed" in r.text
    assert await suppressions(db) == []
