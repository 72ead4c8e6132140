"""Hostile input is refused with 422 Problem+JSON, never a 500: a NUL character anywhere
in the path, the query or a JSON/form text field, dates at the ends of the calendar, an
email longer than any address can be."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import Request
from sqlalchemy import func, select

from servio.domains.intake.models import Lead
from servio.platform.audit.models import AuditEvent
from servio.platform.db import Database
from tests.support.app import app_of
from tests.support.identity import Account, register
from tests.support.problems import assert_problem, error_fields


@pytest.fixture
async def owner(api: httpx.AsyncClient) -> Account:
    return await register(api, "ada@example.com", "Bright Homes")


async def test_nul_in_the_query_is_refused(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get("/health?org=a%00b"), 422, "validation-error")
    assert error_fields(body) == ["query.org"]
    assert "NUL" in str(body["detail"])


async def test_nul_in_the_path_is_refused(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get("/b/a%00b"), 422, "validation-error")
    assert error_fields(body) == ["path"]


async def test_nul_in_a_json_field_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, owner: Account, db: Database
) -> None:
    lead = {"name": "Sam\u0000x", "email": "sam@example.com", "consent": True}
    response = await api.post(f"/v1/leads?org={owner.org_slug}", json=lead)
    body = assert_problem(response, 422, "validation-error")
    assert error_fields(body) == ["body.name"]
    async with db.unit_of_work(system=True) as s:
        assert await s.scalar(select(func.count()).select_from(Lead)) == 0


async def test_nul_in_login_email_and_chat_text_is_refused(
    api: httpx.AsyncClient, owner: Account
) -> None:
    login = await api.post("/v1/auth/login", json={"email": "a\u0000@x.io", "password": "p" * 12})
    assert error_fields(assert_problem(login, 422, "validation-error")) == ["body.email"]
    chat = await api.post(
        f"/v1/chat/messages?org={owner.org_slug}",
        json={"session_id": "browser-123", "text": "hi\u0000there"},
    )
    assert error_fields(assert_problem(chat, 422, "validation-error")) == ["body.text"]


async def test_nul_in_json_without_a_type_or_in_utf16_is_refused(
    api: httpx.AsyncClient, owner: Account
) -> None:
    lead = json.dumps({"name": "Sam\u0000x", "email": "sam@example.com", "consent": True})
    url = f"/v1/leads?org={owner.org_slug}"
    untyped = await api.post(url, content=lead.encode())
    assert error_fields(assert_problem(untyped, 422, "validation-error")) == ["body.name"]
    utf16 = await api.post(
        url, content=lead.encode("utf-16"), headers={"content-type": "application/json"}
    )
    assert error_fields(assert_problem(utf16, 422, "validation-error")) == ["body.name"]


async def test_nul_in_a_nested_key_or_list_is_named(api: httpx.AsyncClient) -> None:
    payload = {"name": "Sam", "estimate_request": {"extras": ["ok", "ba\u0000d"]}}
    response = await api.post("/v1/leads?org=x", json=payload)
    body = assert_problem(response, 422, "validation-error")
    assert error_fields(body) == ["body.estimate_request.extras.1"]


async def test_nul_in_a_form_field_is_refused(api: httpx.AsyncClient, owner: Account) -> None:
    response = await api.post(
        f"/b/{owner.org_slug}/book",
        content=b"name=Sam%00x&email=sam%40example.com",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    body = assert_problem(response, 422, "validation-error")
    assert error_fields(body) == ["body.name"]


async def test_escaped_backslash_is_not_a_nul_and_bodies_reach_the_app_whole(
    api: httpx.AsyncClient,
) -> None:
    app = app_of(api)

    @app.post("/_t/raw", include_in_schema=False)
    async def raw(request: Request) -> dict[str, object]:
        data = await request.body()
        return {"size": len(data), "nul": data.count(b"\x00")}

    app.router.routes.insert(0, app.router.routes.pop())
    text = json.dumps({"note": "a literal \\u0000 is text"}).encode()
    assert b"\\\\u0000" in text
    r = await api.post("/_t/raw", content=text, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json() == {"size": len(text), "nul": 0}
    upload = (
        b"--xx\r\ncontent-disposition: form-data; name=file; filename=a.png\r\n"
        b"content-type: image/png\r\n\r\n\x89PNG\x00\x00\x00\rIHDR\r\n--xx--\r\n"
    )
    r = await api.post(
        "/_t/raw", content=upload, headers={"content-type": "multipart/form-data; boundary=xx"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"size": len(upload), "nul": 3}
    text_field = b"--xx\r\ncontent-disposition: form-data; name=note\r\n\r\nhi\x00\r\n--xx--\r\n"
    r = await api.post(
        "/_t/raw", content=text_field, headers={"content-type": "multipart/form-data; boundary=xx"}
    )
    assert error_fields(assert_problem(r, 422, "validation-error")) == ["body.note"]
    big = json.dumps({"blob": "x" * 200_000}).encode()
    r = await api.post("/_t/raw", content=big, headers={"content-type": "application/json"})
    assert r.json() == {"size": len(big), "nul": 0}


async def test_a_proxy_forwarding_no_address_still_lets_people_sign_up(
    api: httpx.AsyncClient, db: Database
) -> None:
    response = await api.post(
        "/v1/auth/register",
        json={"email": "bo@example.com", "password": "plum-orchard-skylight-42", "org_name": "Bo"},
        headers={"x-forwarded-for": "unknown"},  # from 127.0.0.1, a trusted proxy
    )
    assert response.status_code == 201, response.text
    async with db.unit_of_work(system=True) as s:
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "auth.registered"))
    assert event is not None
    assert event.ip is None
