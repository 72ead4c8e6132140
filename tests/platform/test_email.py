"""Email: templates in an org's branding, SMTP through a real server, the outbox path
end to end, attachments, circuit breaking, suppressions and the idempotent file sink."""

from __future__ import annotations

import asyncio
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from servio.platform.db import Database
from servio.platform.email import (
    Attachment,
    Branding,
    EmailTemplates,
    FileMailer,
    RenderedEmail,
    SmtpConfig,
    SmtpMailer,
    TemplateError,
    Vertical,
    compose,
    render,
)
from servio.platform.email.sending import MAX_ATTACHMENTS_BYTES
from servio.platform.outbox import OutboxMessage, ProviderCircuit
from tests.conftest import make_settings
from tests.support.identity import mails
from tests.support.orgs import add_org
from tests.support.outbox import make_due, outbox_rows, queue_email, running_container
from tests.support.smtp import PASSWORD, USER, free_port, self_signed_certificate, smtp_server

SENDER = "Bright Homes <hello@bright.example>"
# The local test server takes AUTH without TLS; production relays are reached over TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def write_templates(folder: Path) -> Path:
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "visit.txt").write_text(
        '{% extends "base.txt" %}{% block subject %}Your {{ word("visit") }}, {{ name }}'
        "{% endblock %}{% block body %}Hello {{ name }}, see you at {{ when }}.{% endblock %}"
    )
    (folder / "notes" / "visit.html").write_text(
        '{% extends "base.html" %}{% block body %}<p>Hello {{ name }}, your '
        '{{ word("visit") }} is at {{ when }}.</p>{% endblock %}'
    )
    (folder / "notes" / "visit.tattoo.txt").write_text(
        '{% extends "base.txt" %}{% block subject %}Session for {{ name }}{% endblock %}'
        "{% block body %}Bring ID, {{ name }}.{% endblock %}"
    )
    return folder


def test_html_is_escaped_text_is_not_and_both_carry_the_branding(tmp_path: Path) -> None:
    folder = write_templates(tmp_path)
    brand = Branding.of("Bo & <Co>", {"accent_color": "#AA3300", "footer": "1 Main St"})
    cleaning = Vertical("cleaning", {"visit": "cleaning"})
    mail = render(
        "notes/visit",
        {"name": "<b>Ann</b>", "when": "9:00"},
        org_branding=brand,
        vertical=cleaning,
        folders=[folder],
    )
    assert mail.subject == "Your cleaning, <b>Ann</b>"
    assert "Hello <b>Ann</b>, see you at 9:00." in mail.text
    assert "Bo & <Co>\n1 Main St\n" in mail.text
    assert "<b>Ann</b>" not in mail.html
    assert "Hello &lt;b&gt;Ann&lt;/b&gt;, your cleaning is at 9:00." in mail.html
    assert "background:#AA3300" in mail.html
    assert "Bo &amp; &lt;Co&gt;" in mail.html
    assert "Unsubscribe" not in mail.text + mail.html

    tattoo = render(
        "notes/visit",
        {"name": "Ann", "when": "9:00"},
        org_branding=brand,
        vertical=Vertical("tattoo"),
        folders=[folder],
    )
    assert (tattoo.subject, tattoo.text.splitlines()[0]) == ("Session for Ann", "Bring ID, Ann.")
    assert "your visit is at 9:00" in tattoo.html  # no tattoo HTML: the generic one, own words


def test_a_template_that_cannot_render_is_an_error(tmp_path: Path) -> None:
    templates = EmailTemplates([write_templates(tmp_path)])
    look: dict[str, Any] = {"org_branding": Branding(), "vertical": Vertical()}
    with pytest.raises(TemplateError, match="undefined"):
        templates.render("notes/visit", {"name": "Ann"}, **look)
    with pytest.raises(TemplateError, match="no template"):
        templates.render("notes/missing", {}, **look)
    with pytest.raises(TemplateError, match="invalid template name"):
        templates.render("../etc/passwd", {}, **look)


def test_stored_branding_that_could_break_the_layout_is_dropped() -> None:
    brand = Branding.of(
        "X", {"accent_color": "red;background:url(//evil)", "logo_url": "javascript:alert(1)"}
    )
    assert (brand.accent_color, brand.logo_url) == ("#1f5f8b", None)
    assert Branding.of("X", {"logo_url": "https://cdn.example/logo.png"}).logo_url


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def a_message(key: str = "email.send:k1", unsubscribe: str | None = None) -> Any:
    rendered = RenderedEmail("Hello", "Plain words\n", "<p>Rich words</p>\n")
    return compose(
        rendered, to="ann@example.com", sender=SENDER, message_key=key, list_unsubscribe=unsubscribe
    )


async def test_smtp_with_starttls_and_auth_delivers_exactly_the_message(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    async with smtp_server(auth=True, tls=(cert, key)) as (inbox, port):
        url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}?starttls=1&cafile={cert}"
        await SmtpMailer(SmtpConfig.from_url(url), timeout_seconds=5).send(
            a_message(unsubscribe="<https://x.example/unsubscribe/t>, <mailto:u@x.example>")
        )
    [arrival] = inbox.arrivals
    assert (arrival.tls, arrival.login, inbox.mechanisms) == (True, USER, ["LOGIN"])
    assert (arrival.mail_from, arrival.rcpt_tos) == ("hello@bright.example", ["ann@example.com"])
    got = arrival.message
    assert got["From"] == SENDER
    assert got["Subject"] == "Hello"
    assert got["X-Servio-Message-Key"] == "email.send:k1"
    assert got["Message-ID"].endswith("@bright.example>")
    assert got["List-Unsubscribe"] == "<https://x.example/unsubscribe/t>, <mailto:u@x.example>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = [(p.get_content_type(), lf(p.get_content())) for p in got.iter_parts()]
    assert parts == [("text/plain", "Plain words\n"), ("text/html", "<p>Rich words</p>\n")]


def test_smtp_urls() -> None:
    config = SmtpConfig.from_url("smtp://u%40x:p%3Aw@mail.example:2525?starttls=0")
    assert (config.username, config.password, config.port, config.starttls) == (
        "u@x",
        "p:w",
        2525,
        False,
    )
    implicit = SmtpConfig.from_url("smtps://mail.example")
    assert (implicit.implicit_tls, implicit.port, implicit.starttls) == (True, 465, None)
    with pytest.raises(ValueError, match="smtp://"):
        SmtpConfig.from_url("http://mail.example")


async def test_the_file_sink_keeps_one_file_per_message_key(tmp_path: Path) -> None:
    sink = FileMailer(tmp_path / "mail")
    for _ in range(2):
        await sink.send(a_message("email.send:k1"))
    await sink.send(a_message("email.send:k2"))
    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 2
    assert [m["X-Servio-Message-Key"] for m in mails(tmp_path)] == [
        "email.send:k1",
        "email.send:k2",
    ]


INVITE = "BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REQUEST\nEND:VCALENDAR\n"
PDF = b"%PDF-1.4\n\x00\xff\xfe binary \r\n bytes"
ATTACHMENTS = (
    Attachment("invite.ics", "text/calendar; method=REQUEST", INVITE),
    Attachment("receipt.pdf", "application/pdf", PDF),
)


def attached(message: Message) -> list[tuple[str, str | None, str | None, bytes]]:
    """(content type, filename, method parameter, decoded bytes) of each attachment; text
    with its line breaks as written (the wire may carry them as CRLF)."""
    found = []
    for part in message.walk():
        if part.get_content_disposition() == "attachment":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            if part.get_content_maintype() == "text":
                data = data.replace(b"\r\n", b"\n")
            method = part.get_param("method")
            found.append(
                (
                    part.get_content_type(),
                    part.get_filename(),
                    str(method) if method else None,
                    data,
                )
            )
    return found


EXPECTED_ATTACHMENTS = [
    ("text/calendar", "invite.ics", "REQUEST", INVITE.encode()),
    ("application/pdf", "receipt.pdf", None, PDF),
]


async def test_attachments_arrive_over_smtp_and_in_the_file_sink(tmp_path: Path) -> None:
    rendered = RenderedEmail("Hello", "Plain words\n", "<p>Rich words</p>\n")
    message = compose(
        rendered, to="ann@example.com", sender=SENDER, message_key="k", attachments=ATTACHMENTS
    )
    async with smtp_server() as (inbox, port):
        url = f"smtp://127.0.0.1:{port}?starttls=0"
        await SmtpMailer(SmtpConfig.from_url(url), timeout_seconds=5).send(message)
    await FileMailer(tmp_path / "mail").send(message)
    [over_smtp] = [a.message for a in inbox.arrivals]
    [from_file] = mails(tmp_path)
    for got in (over_smtp, from_file):
        assert got.get_content_type() == "multipart/mixed"
        body = got.get_payload(0)
        assert isinstance(body, Message)
        assert [p.get_content_type() for p in body.walk()] == [
            "multipart/alternative",
            "text/plain",
            "text/html",
        ]
        assert attached(got) == EXPECTED_ATTACHMENTS  # the PDF's bytes exactly as they were


def test_an_attachment_is_a_plain_file_name_a_valid_type_and_round_trips_as_json() -> None:
    for text in ATTACHMENTS:
        assert Attachment.from_json(text.as_json()) == text
    assert ATTACHMENTS[0].as_json() == {
        "filename": "invite.ics",
        "content_type": "text/calendar; method=REQUEST",
        "text": INVITE,
    }
    assert set(ATTACHMENTS[1].as_json()) == {"filename", "content_type", "base64"}
    for name in ("../etc/passwd", "a\r\nBcc: x@example.com", "", ".hidden"):
        with pytest.raises(ValueError, match="filename"):
            Attachment(name, "text/plain", "x")
    for content_type in ("calendar", "text/plain\r\nBcc: x@example.com", "text/plain; ="):
        with pytest.raises(ValueError, match="content type"):
            Attachment("a.txt", content_type, "x")


async def test_attachments_travel_in_the_outbox_and_a_broken_one_dead_letters(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    big = Attachment("big.bin", "application/octet-stream", b"x" * (MAX_ATTACHMENTS_BYTES + 1))
    with pytest.raises(ValueError, match="attachments exceed"):
        await queue_email(db, "big", attachments=[big])
    await queue_email(db, "k1", attachments=ATTACHMENTS)
    await queue_email(db, "k2", attachments=ATTACHMENTS[:1])
    async with db.unit_of_work(system=True) as s:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == "email.send:k2")
            .values(
                payload={  # as a bad writer would have stored it
                    "to": "ann@example.com",
                    "template": "auth/password_reset",
                    "context": {"link": "https://servio.example/r?token=k2", "valid_minutes": 30},
                    "attachments": [{"filename": "x.bin", "base64": "not base64!"}],
                }
            )
        )
    async with running_container(make_settings(db_url, var_dir=tmp_path)) as container:
        assert await container.dispatcher("w").drain() == 2
    statuses = {r.dedupe_key: (r.status, r.last_error) for r in await outbox_rows(db)}
    assert statuses["email.send:k1"] == ("done", None)
    status, error = statuses["email.send:k2"]
    assert status == "dead"
    assert "malformed email payload" in (error or "")
    [arrived] = mails(tmp_path)
    assert attached(arrived) == EXPECTED_ATTACHMENTS


async def test_an_email_sent_in_a_transaction_arrives_once_over_smtp(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    async with smtp_server(auth=True) as (inbox, port):
        settings = make_settings(
            db_url,
            var_dir=tmp_path,
            smtp_url=f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}?starttls=0",
            mail_from=SENDER,
            public_url="https://servio.example",
        )
        async with db.unit_of_work(system=True) as s:
            org = await add_org(s, "bright-homes")
        await queue_email(db, "k1", org_id=org.id, category="marketing")
        await queue_email(db, "k1", org_id=org.id, category="marketing")  # the same message again
        await queue_email(db, "k2")
        async with running_container(settings) as container:
            assert await container.dispatcher("w").drain() == 2
    assert [r.status for r in await outbox_rows(db)] == ["done", "done"]
    arrived = {a.message["X-Servio-Message-Key"]: a.message for a in inbox.arrivals}
    assert sorted(arrived) == ["email.send:k1", "email.send:k2"]  # delivered concurrently
    marketing, transactional = arrived["email.send:k1"], arrived["email.send:k2"]
    assert [a.login for a in inbox.arrivals] == [USER, USER]
    assert marketing["To"] == "ann@example.com"
    assert marketing["From"] == SENDER
    assert marketing["Subject"] == "Reset your Servio password"
    unsubscribe = marketing["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://servio.example/unsubscribe/")
    assert "<mailto:unsubscribe@bright.example?subject=unsubscribe%20" in unsubscribe
    assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text_part, html_part = marketing.iter_parts()
    assert "https://servio.example/r?token=k1" in text_part.get_content()
    assert "Bright Homes" in text_part.get_content()  # the org's branding
    assert 'href="https://servio.example/r?token=k1"' in html_part.get_content()
    assert "Unsubscribe" in html_part.get_content()
    assert "List-Unsubscribe" not in transactional
    assert "Servio" in transactional.iter_parts().__next__().get_content()


async def test_smtp_down_is_retried_then_the_circuit_opens_and_recovers(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    port = free_port()
    settings = make_settings(
        db_url,
        var_dir=tmp_path,
        smtp_url=f"smtp://127.0.0.1:{port}?starttls=0",
        smtp_timeout_seconds=2,
        circuit_failure_threshold=2,
        circuit_cooldown_seconds=2.0,  # long enough that a loaded machine stays inside it
    )
    for key in ("a", "b", "c"):
        await queue_email(db, key)
    async with running_container(settings) as container:
        worker = container.dispatcher("w")
        assert await worker.drain_once() == 3
        rows = await outbox_rows(db)
        assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
        assert all("SMTPConnect" in (r.last_error or "") for r in rows)
        async with db.unit_of_work(system=True) as s:
            circuit = await s.get(ProviderCircuit, "smtp")
        assert circuit is not None
        assert circuit.state == "open"

        await make_due(db)
        assert await worker.drain_once() == 0  # open: not even claimed
        assert {r.attempts for r in await outbox_rows(db)} == {1}

        async with smtp_server(port=port) as (inbox, _):
            await _wait_for_half_open(worker)
            await worker.drain()  # one probe goes through and closes the circuit
            await make_due(db)
            await worker.drain()
    assert [r.status for r in await outbox_rows(db)] == ["done"] * 3
    assert sorted(a.message["X-Servio-Message-Key"] for a in inbox.arrivals) == [
        "email.send:a",
        "email.send:b",
        "email.send:c",
    ]
    async with db.unit_of_work(system=True) as s:
        circuit = await s.get(ProviderCircuit, "smtp")
    assert circuit is not None
    assert circuit.state == "closed"


async def _wait_for_half_open(worker: Any) -> None:
    for _ in range(120):
        if worker.breakers.of("smtp").state == "half_open":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the circuit never half-opened")
