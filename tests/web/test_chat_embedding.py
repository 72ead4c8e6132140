"""Which sites may frame a business's web chat (its ``chat.embed_origins`` setting, its
own site only by default), and the chat's session cookie being ``Secure`` wherever the
deployment is served over https."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from servio.domains.identity.models import OrgSetting
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.conftest import SQLITE_ONLY, make_settings
from tests.support.app import app_client
from tests.support.identity import bearer, register

# Headers and cookies of a page; the settings they come from are stored on both databases
# by the settings API tests.
pytestmark = SQLITE_ONLY

HTML = {"Accept": "text/html"}
SETTINGS = "/v1/admin/settings"


def _frame_ancestors(page: httpx.Response) -> str:
    policy = page.headers["content-security-policy"]
    found = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")]
    assert len(found) == 1, policy
    return found[0]


async def test_only_the_business_s_own_sites_may_frame_its_chat(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@embed.example.com", "Embed Co")
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert page.status_code == 200
    assert _frame_ancestors(page) == "frame-ancestors 'self'"  # not every https site

    origins = ["https://www.embed.example", "https://Shop.Embed.example:8443/"]
    change = {"chat.embed_origins": origins}
    r = await api.patch(SETTINGS, json=change, headers=bearer(owner.access))
    assert r.status_code == 200, r.text
    stored = ["https://www.embed.example", "https://shop.embed.example:8443"]
    assert r.json()["settings"]["chat.embed_origins"] == stored
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert _frame_ancestors(page) == "frame-ancestors 'self' " + " ".join(stored)
    assert "script-src 'self'" in page.headers["content-security-policy"]

    other = await register(api, "owner@other-embed.example.com", "Other Co")
    theirs = await api.get(f"/chat/{other.org_slug}", headers=HTML)
    assert _frame_ancestors(theirs) == "frame-ancestors 'self'"

    cleared = await api.patch(
        SETTINGS, json={"chat.embed_origins": None}, headers=bearer(owner.access)
    )
    assert cleared.json()["settings"]["chat.embed_origins"] == []
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert _frame_ancestors(page) == "frame-ancestors 'self'"


@pytest.mark.parametrize(
    "bad",
    [
        ["http://insecure.example"],
        ["https://a.example; script-src *"],
        ["https://a.example/shop"],
        ["https:"],
        ["*"],
        ["https://user@a.example"],
        "https://a.example",
        ["https://a.example"] * 21,
    ],
)
async def test_an_embed_origin_that_is_not_an_https_origin_is_refused(
    api: httpx.AsyncClient, db: Database, bad: object
) -> None:
    owner = await register(api, "owner@bad-embed.example.com", "Bad Embed Co")
    r = await api.patch(SETTINGS, json={"chat.embed_origins": bad}, headers=bearer(owner.access))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["chat.embed_origins"]
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(select(OrgSetting).where(OrgSetting.org_id == owner.org_id))
        assert "chat.embed_origins" not in {row.key for row in rows}
    page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
    assert _frame_ancestors(page) == "frame-ancestors 'self'"


@pytest.mark.parametrize(
    ("overrides", "secure"),
    [
        ({"public_url": "https://book.example.com"}, True),
        ({"public_url": "http://127.0.0.1:8000"}, False),
        (
            {
                "env": "prod",
                "secret_key": "k" * 40,
                "client_portal_secret": "c" * 40,
                "metrics_token": "m3tr1cs-9f2c7a1e5b",
                "public_url": "http://servio.internal:8000",
            },
            True,
        ),
    ],
)
async def test_the_chat_cookie_is_secure_when_served_over_https_or_in_production(
    db_url: str, db: Database, tmp_path: Path, overrides: dict[str, object], secure: bool
) -> None:
    settings = (
        Settings(database_url=db_url, var_dir=tmp_path, **overrides)  # type: ignore[arg-type]
        if overrides.get("env") == "prod"  # production's own checks, argon2 cost included
        else make_settings(db_url, var_dir=tmp_path, **overrides)
    )
    async with app_client(settings, raise_errors=False) as api:
        owner = await register(api, "owner@cookie.example.com", "Cookie Co")
        page = await api.get(f"/chat/{owner.org_slug}", headers=HTML)
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("servio_chat=")
        assert ("Secure" in cookie) is secure
        assert "HttpOnly" in cookie
        api.cookies.clear()  # a new visitor whose first request is a turn
        turn = await api.post(f"/chat/{owner.org_slug}/turn", data={"text": ""}, headers=HTML)
        assert turn.status_code == 200
        assert ("Secure" in turn.headers["set-cookie"]) is secure
