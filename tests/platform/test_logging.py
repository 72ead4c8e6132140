"""Access logs are JSON and carry no personal data or credentials."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import datetime

import pytest
import structlog

from servio.platform.db import utcnow
from servio.platform.logging import (
    ACCESS_LOG,
    MASK,
    configure_logging,
    redact_text,
    redact_value,
)
from tests.conftest import make_settings
from tests.support.app import app_client


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("mail jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk"),
        ("call +1 403 555 0199 today", "403 555 0199"),
        ("call (403) 555-0199", "555-0199"),
        ("phone 4035550199", "4035550199"),
        ("card 4242 4242 4242 4242 ok", "4242 4242 4242 4242"),
        ("card 4000-0566-5566-5556", "4000-0566-5566-5556"),
        ("Authorization: Bearer eyJabc.def.ghi", "eyJabc.def.ghi"),
        ("token eyJhbGciOi.eyJzdWIi.sIgnAtUrE", "eyJhbGciOi.eyJzdWIi.sIgnAtUrE"),
        ("key sk_test_51HxYzAbCdEf", "sk_test_51HxYzAbCdEf"),
        ("/reset?token=s3cr3t&next=/", "s3cr3t"),
        ("/verify?code=abcdef", "abcdef"),
    ],
)
def test_redact_text_masks_personal_data(raw: str, secret: str) -> None:
    redacted = redact_text(raw)
    assert secret not in redacted
    assert MASK in redacted


@pytest.mark.parametrize(
    "kept",
    [
        "2026-11-24",
        "123e4567-e89b-12d3-a456-426614174000",
        "took 12.345678 s",
        "GET /v1/bookings/42",
        "America/Edmonton",
    ],
)
def test_redact_text_keeps_ordinary_values(kept: str) -> None:
    assert redact_text(kept) == kept


def test_sensitive_keys_are_masked_whole() -> None:
    headers = {"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "session=abc", "Accept": "*/*"}
    assert redact_value("headers", headers) == {
        "Authorization": MASK,
        "Cookie": MASK,
        "Accept": "*/*",
    }
    assert redact_value("password", "hunter2hunter2") == MASK
    assert redact_value("x_admin_api_key", "sv_abc") == MASK


async def test_access_log_line_is_json_and_redacted(sqlite_url: str) -> None:
    stream = io.StringIO()
    try:
        async with app_client(make_settings(sqlite_url)) as client:
            configure_logging("info", "json", stream=stream)
            await client.get(
                "/problems/not-found?email=ann@example.com&phone=%2B14035550199&token=abc123",
                headers={"Authorization": "Bearer eyJx.eyJy.z", "X-Request-ID": "req-12345678"},
            )
        structlog.get_logger("servio.test").info(
            "login_failed", email="bob@example.com", headers={"cookie": "sid=1"}
        )
    finally:
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    access = next(line for line in lines if line.get("event") == "request")
    assert access["route"] == "/problems/{name}"
    assert access["status"] == 200
    assert access["request_id"] == "req-12345678"
    assert "ann@example.com" not in access["path"]
    assert "abc123" not in access["path"]
    assert "+14035550199" not in json.dumps(access)
    login = next(line for line in lines if line.get("event") == "login_failed")
    assert login["email"] == MASK
    assert login["headers"] == {"cookie": MASK}
    assert "eyJx.eyJy.z" not in stream.getvalue()


@pytest.mark.parametrize(
    ("path", "query", "client_ip", "user_agent"),
    [
        ("/healthz", b"", "127.0.0.1", None),
        ("/v1/bookings/42", b"ref=a%22b", None, b'curl/8.5 "quoted" \\ back'),
        ("/caf\u00e9/\u2603", b"q=\xfc\xf1", "::1", b"Mozilla/5.0 (X11; Linux) \xe9t\xe9"),
        ("/reset", b"token=s3cr3t&email=ann@example.com", "203.0.113.9", b"bot ann@example.com"),
        ("/line\nbreak\ttab", b"", "10.0.0.5", b""),
    ],
)
def test_access_line_is_what_the_json_renderer_writes(
    path: str, query: bytes, client_ip: str | None, user_agent: bytes | None
) -> None:
    stream = io.StringIO()
    try:
        configure_logging("info", "json", stream=stream)
        ACCESS_LOG.write(
            "req-12345678", "GET", "/v1/x/{id}", path, query, 201, 0.0125, client_ip, user_agent
        )
    finally:
        configure_logging()
    full_path = f"{path}?{query.decode('latin-1')}" if query else path
    agent = None if user_agent is None else user_agent.decode("latin-1")
    line = stream.getvalue()
    assert line.endswith("}\n")
    access = json.loads(line)
    timestamp = access["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", timestamp)
    stamped = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    assert abs((utcnow() - stamped).total_seconds()) < 5
    expected = {
        "event": "request",
        "request_id": "req-12345678",
        "method": "GET",
        "route": "/v1/x/{id}",
        "path": redact_text(full_path),
        "status": 201,
        "duration_ms": 12.5,
        "client_ip": client_ip,
        "user_agent": redact_text(agent) if agent else agent,
        "level": "info",
        "logger": "servio.access",
        "timestamp": timestamp,
    }
    rendered = structlog.processors.JSONRenderer()(None, "info", expected)
    assert isinstance(rendered, str)
    assert line == rendered + "\n"
    assert "ann@example.com" not in line
    assert "s3cr3t" not in line


def test_access_line_in_console_format_has_the_same_fields() -> None:
    stream = io.StringIO()
    try:
        configure_logging("info", "console", stream=stream)
        ACCESS_LOG.write(
            "req-12345678",
            "GET",
            "/healthz",
            "/healthz",
            b"email=ann@example.com",
            200,
            0.0015,
            None,
            b"x",
        )
    finally:
        configure_logging()
    line = stream.getvalue()
    assert "request" in line
    assert "servio.access" in line
    assert "route=/healthz" in line
    assert "ann@example.com" not in line


def test_access_log_off_writes_nothing() -> None:
    stream = io.StringIO()
    try:
        configure_logging("info", "json", stream=stream, access_log=False)
        ACCESS_LOG.write(
            "req-12345678", "GET", "/healthz", "/healthz", b"", 200, 0.0015, None, None
        )
    finally:
        configure_logging()
    assert stream.getvalue() == ""


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


async def test_access_lines_of_one_loop_turn_are_flushed_together() -> None:
    stream = _CountingStream()
    try:
        configure_logging("info", "json", stream=stream)
        for n in range(3):
            ACCESS_LOG.write(
                f"req-1234567{n}", "GET", "/healthz", "/healthz", b"", 200, 0.001, None, None
            )
        assert stream.getvalue() == ""
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert stream.flushes == 1
        assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == [
            "req-12345670",
            "req-12345671",
            "req-12345672",
        ]
    finally:
        configure_logging()


async def test_a_log_line_never_overtakes_queued_access_lines() -> None:
    stream = _CountingStream()
    try:
        configure_logging("info", "json", stream=stream)
        ACCESS_LOG.write("req-12345678", "GET", "/healthz", "/healthz", b"", 200, 0.001, None, None)
        structlog.get_logger("servio.test").info("after_request")
        events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
        assert events == ["request", "after_request"]
    finally:
        configure_logging()


def test_access_line_outside_a_loop_is_flushed_at_once() -> None:
    stream = _CountingStream()
    try:
        configure_logging("info", "json", stream=stream)
        ACCESS_LOG.write("req-12345678", "GET", "/healthz", "/healthz", b"", 200, 0.001, None, None)
        assert stream.flushes == 1
    finally:
        configure_logging()


def test_only_a_path_that_is_not_its_route_template_is_redacted() -> None:
    stream = io.StringIO()
    try:
        configure_logging("info", "json", stream=stream)
        for path in ("/v1/callbacks/4035550199", "/v1/users/4035550199"):
            ACCESS_LOG.write(
                "req-12345678", "GET", "/v1/callbacks/4035550199", path, b"", 200, 0.001, None, None
            )
    finally:
        configure_logging()
    static, concrete = (json.loads(line)["path"] for line in stream.getvalue().splitlines())
    assert static == "/v1/callbacks/4035550199"  # the route itself: code, not personal data
    assert concrete == f"/v1/users/{MASK}"
