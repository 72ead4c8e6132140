"""The suppression list stops sends (skipped, never retried); a hard bounce suppresses
the address; a retried delivery into the file sink leaves one file; suppressions of one
org are invisible to another under row-level security."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.email import EmailSuppression, is_suppressed, send_email, suppress
from servio.platform.outbox import Delivery, OutboxMessage
from tests.conftest import make_settings
from tests.support.identity import mails
from tests.support.orgs import add_org
from tests.support.outbox import make_due, outbox_rows, queue_email, running_container
from tests.support.smtp import free_port, smtp_server

HOUR = timedelta(hours=1)


async def two_orgs(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with db.unit_of_work(system=True) as s:
        return (await add_org(s, "org-a")).id, (await add_org(s, "org-b")).id


async def test_suppressed_addresses_are_skipped_and_not_retried(
    db: Database, settings: Settings
) -> None:
    a, b = await two_orgs(db)
    async with db.unit_of_work(system=True) as s:
        await suppress(s, address="Gone@Example.com", reason="bounce")  # everywhere
        await suppress(s, address="ann@example.com", reason="unsubscribe", org_id=a)
        await suppress(s, address="ann@example.com", reason="unsubscribe", org_id=a)  # again
    await queue_email(db, "bounced", to="gone@example.com", org_id=b)
    await queue_email(db, "a-news", org_id=a, category="marketing")
    await queue_email(db, "a-reset", org_id=a)  # an unsubscribe stops no transactional mail
    await queue_email(db, "b-news", org_id=b, category="marketing")
    async with running_container(settings) as container:
        assert await container.dispatcher("w").drain() == 4
        assert await container.dispatcher("w").drain() == 0  # skipped stays skipped
    outcome = {r.dedupe_key.removeprefix("email.send:"): r for r in await outbox_rows(db)}
    assert {k: r.status for k, r in outcome.items()} == {
        "bounced": "skipped",
        "a-news": "skipped",
        "a-reset": "done",
        "b-news": "done",
    }
    assert outcome["bounced"].last_error == "skipped: the address is suppressed (bounce)"
    assert outcome["a-news"].attempts == 1
    assert sorted(m["X-Servio-Message-Key"] for m in mails(settings.var_dir)) == [
        "email.send:a-reset",
        "email.send:b-news",
    ]
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(EmailSuppression)) == 2
        assert await is_suppressed(s, "GONE@example.com", org_id=a)
        assert not await is_suppressed(s, "ann@example.com", org_id=a)
        assert await is_suppressed(s, "ann@example.com", org_id=a, category="marketing")
        assert not await is_suppressed(s, "ann@example.com", org_id=b, category="marketing")
        await suppress(s, address="dora@example.com", reason="unsubscribe")  # from our own mail
        assert await is_suppressed(s, "dora@example.com", category="marketing")
        assert not await is_suppressed(s, "dora@example.com", org_id=a, category="marketing")


async def test_a_hard_bounce_dead_letters_and_suppresses_the_address(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    async with smtp_server(refuse={"nobody@example.com"}) as (inbox, port):
        settings = make_settings(
            db_url, var_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{port}?starttls=0"
        )
        await queue_email(db, "first", to="nobody@example.com")
        async with running_container(settings) as container:
            await container.dispatcher("w").drain()
            await queue_email(db, "second", to="nobody@example.com")
            await container.dispatcher("w").drain()
    first, second = await outbox_rows(db)
    assert (first.status, first.attempts) == ("dead", 1)
    assert "550" in (first.last_error or "")
    assert second.status == "skipped"
    assert inbox.arrivals == []
    async with db.unit_of_work(system=True) as s:
        row = await s.scalar(select(EmailSuppression))
    assert row is not None
    assert (row.address, row.reason, row.org_id) == ("nobody@example.com", "bounce", None)


async def test_a_retried_delivery_leaves_one_file(db: Database, settings: Settings) -> None:
    await queue_email(db, "once")
    [row] = await outbox_rows(db)
    async with running_container(settings) as container:
        assert container.email is not None
        for attempt in (1, 2):  # the first try's outcome was lost, so it runs again
            await container.email(
                Delivery(row.id, None, row.kind, row.payload, row.dedupe_key, attempt)
            )
    [mail] = mails(settings.var_dir)
    assert mail["X-Servio-Message-Key"] == "email.send:once"


async def test_a_template_that_does_not_render_is_dead_lettered(
    db: Database, settings: Settings
) -> None:
    async with db.unit_of_work(system=True) as s:
        await send_email(s, to="a@example.com", template="auth/nothing", context={}, dedupe_key="x")
    async with running_container(settings) as container:
        await container.dispatcher("w").drain()
    [row] = await outbox_rows(db)
    assert (row.status, row.attempts) == ("dead", 1)
    assert "no template auth/nothing" in (row.last_error or "")
    assert mails(settings.var_dir) == []


async def test_send_email_refuses_what_could_never_be_sent(db: Database) -> None:
    async with db.unit_of_work(system=True) as s:
        with pytest.raises(ValueError, match="single email address"):
            await send_email(s, to="a@x.com, b@x.com", template="t", context={}, dedupe_key="1")
        with pytest.raises(ValueError, match="category"):
            await send_email(
                s, to="a@x.com", template="t", context={}, dedupe_key="1", category="spam"
            )
        with pytest.raises(TypeError):
            await send_email(s, to="a@x.com", template="t", context={"x": {1}}, dedupe_key="1")


@pytest.mark.postgres
async def test_an_org_sees_only_its_own_suppressions(pg_db: Database) -> None:
    a, b = await two_orgs(pg_db)
    async with pg_db.unit_of_work(system=True) as s:
        for org in (a, b, None):
            await suppress(s, address="ann@example.com", reason="manual", org_id=org)
    async with pg_db.unit_of_work(a) as s:
        raw = (await s.execute(text("SELECT org_id FROM email_suppressions"))).scalars().all()
    assert list(raw) == [a]
    async with pg_db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(EmailSuppression)) == 3


async def test_a_skipped_message_as_the_circuit_probe_does_not_wedge_the_circuit(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    port = free_port()
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        smtp_url=f"smtp://127.0.0.1:{port}?starttls=0",
        circuit_failure_threshold=1,
        circuit_cooldown_seconds=0.2,
    )
    await queue_email(db, "waits")
    async with running_container(settings) as container:
        worker = container.dispatcher("w")
        await worker.drain_once()  # nothing listens: the circuit opens
        assert worker.breakers.of("smtp").state == "open"
        async with db.unit_of_work(system=True) as s:
            await s.execute(update(OutboxMessage).values(next_attempt_at=utcnow() + HOUR))
            await suppress(s, address="gone@example.com", reason="complaint")
        await queue_email(db, "suppressed", to="gone@example.com")
        async with smtp_server(port=port) as (inbox, _):
            await asyncio.sleep(0.25)  # half-open: the next message is the probe
            assert await worker.drain() == 1  # the suppressed one, skipped
            await make_due(db)
            assert await worker.drain() == 1  # the circuit still lets a probe through
    statuses = {r.dedupe_key: r.status for r in await outbox_rows(db)}
    assert statuses == {"email.send:waits": "done", "email.send:suppressed": "skipped"}
    assert [a.message["X-Servio-Message-Key"] for a in inbox.arrivals] == ["email.send:waits"]
    assert worker.breakers.of("smtp").state == "closed"
