"""Leads through the app: contacts normalised, the server's estimate stored, referral
codes validated, Turnstile checked against a local fake, the lifecycle guarded, the
admin list paged and exported without spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servio.domains.intake.models import Lead
from servio.platform.db import Database
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.identity import problem, register
from tests.support.live import serve
from tests.support.orgs import add_org

LEAD = {
    "name": "  Jo   Doe ",
    "email": "Jo@Example.COM",
    "phone": "(780) 555-0100",
    "inputs": {"beds": 2, "baths": 1, "frequency": "weekly"},
    "consent": True,
    "source": "website",
    "utm": {"utm_source": "flyer"},
    "total_cents": 1,
}


async def _org(db: Database, slug: str = "shine") -> None:
    async with db.unit_of_work(system=True) as s:
        await add_org(s, slug)


async def _count(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(Lead)) or 0)


async def test_a_lead_is_stored_with_the_servers_estimate(
    api: httpx.AsyncClient, db: Database
) -> None:
    await _org(db)
    r = await api.post("/v1/leads?org=shine", json=LEAD)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["email"], body["phone"]) == (
        "Jo Doe",
        "jo@example.com",
        "+17805550100",
    )
    assert body["status"] == "NEW"
    assert body["estimate_total_cents"] == 94_50  # no tax set; the client's total ignored
    assert body["estimate"]["pricing_version"] == "cleaning-2026.1"
    assert len(body["referral_code"]) == 8
    async with db.unit_of_work(system=True) as s:
        lead = await s.scalar(select(Lead))
        assert lead is not None
        assert lead.inputs["beds"] == 2
        assert lead.utm == {"utm_source": "flyer"}


async def test_bad_contacts_and_referrals_write_nothing(
    api: httpx.AsyncClient, db: Database
) -> None:
    await _org(db)
    first = (await api.post("/v1/leads?org=shine", json=LEAD)).json()
    refusals: list[tuple[dict[str, object], str]] = [
        ({"email": "not-an-email"}, "invalid-contact"),
        ({"phone": "12"}, "invalid-contact"),
        ({"referred_by": "NOPE1234"}, "unknown-referral-code"),
        ({"inputs": {"beds": 2, "baths": 1, "add_ons": ["sauna"]}}, "unknown-option"),
    ]
    for change, name in refusals:
        problem(await api.post("/v1/leads?org=shine", json=LEAD | change), 422, name)
    assert await _count(db) == 1
    referred = await api.post(
        "/v1/leads?org=shine", json=LEAD | {"referred_by": first["referral_code"].lower()}
    )
    assert referred.json()["referred_by"] == first["id"]


async def test_lifecycle_is_guarded_and_audited(api: httpx.AsyncClient, db: Database) -> None:
    await _org(db)
    owner = await register(api, "ada@example.com", "Bright Homes")
    async with db.unit_of_work(system=True) as s:
        from servio.domains.identity.models import Membership, Org

        shine = await s.scalar(select(Org).where(Org.slug == "shine"))
        assert shine is not None
        s.add(Membership(org_id=shine.id, user_id=owner.user_id, role="DISPATCHER"))
    switched = await api.post("/v1/auth/switch-org", json={"org": "shine"}, headers=owner.auth)
    auth = {"Authorization": f"Bearer {switched.json()['access_token']}"}
    lead = (await api.post("/v1/leads?org=shine", json=LEAD)).json()
    url = f"/v1/admin/leads/{lead['id']}/status"
    assert (await api.post(url, json={"status": "CONTACTED"}, headers=auth)).json()[
        "status"
    ] == "CONTACTED"
    illegal = problem(
        await api.post(url, json={"status": "NEW"}, headers=auth), 409, "illegal-transition"
    )
    assert illegal["allowed"] == ["BOOKED", "LOST", "QUOTED"]
    booked = await api.post(url, json={"status": "BOOKED"}, headers=auth)
    assert booked.json()["version"] == 3
    problem(await api.post(url, json={"status": "LOST"}, headers=auth), 409, "illegal-transition")
    problem(await api.post(url, json={"status": "WON"}, headers=auth), 422, "validation-error")


async def test_list_search_page_and_safe_csv(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "ada@example.com", "Bright Homes")
    for i, name in enumerate(["=HYPERLINK(1)", "+cmd", "Plain Name"]):
        r = await api.post(
            f"/v1/leads?org={owner.org_slug}",
            json=LEAD | {"name": name, "email": f"p{i}@example.com"},
        )
        assert r.status_code == 201, r.text
    page = (await api.get("/v1/admin/leads", params={"limit": 2}, headers=owner.auth)).json()
    assert len(page["items"]) == 2
    rest = (
        await api.get(
            "/v1/admin/leads",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=owner.auth,
        )
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    found = (await api.get("/v1/admin/leads", params={"q": "plain"}, headers=owner.auth)).json()
    assert [i["name"] for i in found["items"]] == ["Plain Name"]
    exported = await api.get("/v1/admin/leads", params={"format": "csv"}, headers=owner.auth)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["name"] for r in rows) == ["'+cmd", "'=HYPERLINK(1)", "Plain Name"]
    problem(
        await api.get("/v1/admin/leads", params={"cursor": "zz"}, headers=owner.auth),
        400,
        "invalid-cursor",
    )


@pytest.fixture
def turnstile() -> Iterator[str]:
    async def siteverify(request: Request) -> JSONResponse:
        form = await request.form()
        ok = form.get("secret") == "ts-secret" and form.get("response") == "good-token"
        return JSONResponse(
            {"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}
        )

    with serve(Starlette(routes=[Route("/siteverify", siteverify, methods=["POST"])])) as url:
        yield f"{url}/siteverify"


async def test_turnstile_is_checked_when_configured(
    db_url: str, db: Database, tmp_path: Path, turnstile: str
) -> None:
    await _org(db)
    settings = make_settings(
        db_url, var_dir=tmp_path, turnstile_secret="ts-secret", turnstile_verify_url=turnstile
    )
    async with app_client(settings, raise_errors=False) as api:
        problem(await api.post("/v1/leads?org=shine", json=LEAD), 400, "captcha-failed")
        bad = problem(
            await api.post("/v1/leads?org=shine", json=LEAD | {"captcha_token": "bad"}),
            400,
            "captcha-failed",
        )
        assert bad["codes"] == ["invalid-input-response"]
        assert await _count(db) == 0
        ok = await api.post("/v1/leads?org=shine", json=LEAD | {"captcha_token": "good-token"})
        assert ok.status_code == 201, ok.text
