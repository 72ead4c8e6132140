"""The console's sign-in forms take posts from the console's own pages only: a post
whose Origin (or, lacking one, Referer) is another site is refused with 403 and opens
no session (login CSRF)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.identity.models import AuthSession
from servio.platform.db import Database
from tests.conftest import SQLITE_ONLY, make_settings
from tests.support.app import app_client
from tests.support.identity import PASSWORD, enable_mfa, register

# An origin check in front of the sign-in; sessions are stored on both databases by the
# identity tests.
pytestmark = SQLITE_ONLY

HTML = {"Accept": "text/html"}


async def _sessions(db: Database) -> int:
    async with db.unit_of_work(system=True) as s:
        return int(await s.scalar(select(func.count()).select_from(AuthSession)) or 0)


@pytest.mark.parametrize(
    "sent",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Origin": "http://testserver:8080"},  # another port is another origin
        {"Referer": "https://evil.example/phish?next=/app"},
    ],
)
async def test_a_cross_site_sign_in_is_refused_and_opens_no_session(
    api: httpx.AsyncClient, db: Database, sent: dict[str, str]
) -> None:
    owner = await register(api, "owner@origin.example.com", "Origin Co")
    before = await _sessions(db)
    r = await api.post(
        "/app/login", data={"email": owner.email, "password": PASSWORD}, headers=HTML | sent
    )
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "another site" in r.text
    assert "servio_access" not in r.cookies
    assert "servio_access" not in api.cookies
    assert await _sessions(db) == before
    assert (await api.get("/app")).status_code == 303  # still signed out


async def test_the_console_s_own_origin_and_the_public_url_sign_in(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    settings = make_settings(db_url, var_dir=tmp_path, public_url="https://console.example.com/")
    async with app_client(settings, raise_errors=False) as api:
        owner = await register(api, "owner@own-origin.example.com", "Own Origin Co")
        form = {"email": owner.email, "password": PASSWORD}
        for sent in (
            {"Origin": "http://testserver"},  # the host the browser spoke to
            {"Origin": "https://console.example.com"},  # SERVIO_PUBLIC_URL's origin
            {"Referer": "https://console.example.com/app/login?next=/app"},
            {},  # no browser headers at all
        ):
            api.cookies.clear()
            r = await api.post("/app/login", data=form, headers=sent)
            assert r.status_code == 303, (sent, r.text)
            assert r.headers["location"] == "/app"
            assert (await api.get("/app")).status_code == 200


async def test_the_mfa_step_checks_the_origin_too(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@mfa-origin.example.com", "Mfa Origin Co")
    await enable_mfa(api, owner)
    step = await api.post("/app/login", data={"email": owner.email, "password": PASSWORD})
    token = step.text.split('name="mfa_token" value="')[1].split('"')[0]
    r = await api.post(
        "/app/login/mfa",
        data={"mfa_token": token, "code": "000000"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert "another site" in r.text
