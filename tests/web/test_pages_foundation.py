"""What every page shares: HTML error pages for browsers (Problem+JSON stays on API
paths), static files compressed and cached by their hashed URL, and the staff console's
sign-in with the MFA step, CSRF-checked sign-out and session renewal."""

from __future__ import annotations

import gzip
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from servio.domains.identity.models import AuthSession
from servio.platform.db import Database
from servio.web.pages.rendering import STATIC, static_url
from tests.conftest import SQLITE_ONLY
from tests.support.app import app_of
from tests.support.identity import PASSWORD, enable_mfa, register, totp_code, wrong_code
from tests.support.routes import install_probe_routes

HTML = {"Accept": "text/html,application/xhtml+xml"}


@SQLITE_ONLY
async def test_a_browser_gets_an_html_404_and_an_api_client_problem_json(
    api: httpx.AsyncClient,
) -> None:
    page = await api.get("/no-such-page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    assert 'href="/static/app.css?v=' in page.text
    machine = await api.get("/no-such-page")
    assert machine.headers["content-type"] == "application/problem+json"
    api_path = await api.get("/v1/no-such-thing", headers=HTML)
    assert api_path.status_code == 404
    assert api_path.json()["status"] == 404


@SQLITE_ONLY
async def test_a_crash_on_a_page_is_an_html_500_without_the_error_text(
    api: httpx.AsyncClient,
) -> None:
    install_probe_routes(app_of(api))
    page = await api.get("/_t/boom", headers=HTML)
    assert page.status_code == 500
    assert "<h1>Something went wrong</h1>" in page.text
    assert "password_hash" not in page.text
    machine = await api.get("/_t/boom")
    assert machine.json()["type"].endswith("internal-error")


@SQLITE_ONLY
async def test_static_files_are_gzipped_and_cached_by_hashed_url(api: httpx.AsyncClient) -> None:
    url = static_url("vendor/htmx.min.js")
    r = await api.get(url, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.content == (STATIC / "vendor/htmx.min.js").read_bytes()  # httpx decoded it
    assert len(gzip.compress(r.content)) < len(r.content) / 2
    plain = await api.get("/static/app.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.headers["content-type"] == "text/css; charset=utf-8"
    outside = await api.get("/static/..%2F..%2F__init__.py")
    assert outside.status_code == 404


def _location(r: httpx.Response) -> str:
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def test_console_sign_in_then_sign_out(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    first = await api.get("/app?day=2026-12-01")
    assert _location(first) == "/app/login?next=%2Fapp%3Fday%3D2026-12-01"
    form = await api.get("/app/login", params={"next": "/app/bookings"})
    assert 'name="next" value="/app/bookings"' in form.text
    wrong = await api.post("/app/login", data={"email": owner.email, "password": "nope"})
    assert wrong.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert f'value="{owner.email}"' in wrong.text  # what was typed is kept
    ok = await api.post(
        "/app/login",
        data={"email": owner.email, "password": PASSWORD, "next": "https://evil.example/app"},
    )
    assert _location(ok) == "/app"
    home = await api.get("/app")
    assert home.status_code == 200
    assert "Tidy Homes" in home.text
    no_token = await api.post("/app/logout", data={})
    assert no_token.status_code == 403
    assert "This form expired" in no_token.text
    out = await api.post("/app/logout", data={"csrf": api.cookies["servio_csrf"]})
    assert _location(out) == "/app/login"
    async with db.unit_of_work(system=True) as s:
        live = await s.scalars(
            select(AuthSession).where(
                AuthSession.user_id == owner.user_id, AuthSession.revoked_at.is_(None)
            )
        )
        assert len(live.all()) == 1  # the API session of register(); the console's ended
    assert (await api.get("/app")).status_code == 303


@SQLITE_ONLY
async def test_console_sign_in_asks_for_the_code_of_an_mfa_user(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@ink.example.com", "Ink Lane")
    secret, _codes = await enable_mfa(api, owner)
    step = await api.post("/app/login", data={"email": owner.email, "password": PASSWORD})
    assert step.status_code == 200
    assert "Enter your code" in step.text
    token = step.text.split('name="mfa_token" value="')[1].split('"')[0]
    bad = await api.post("/app/login/mfa", data={"mfa_token": token, "code": wrong_code(secret)})
    assert bad.status_code == 401
    assert "That code is not valid." in bad.text
    good = await api.post(
        "/app/login/mfa", data={"mfa_token": token, "code": totp_code(secret), "next": "/app"}
    )
    assert _location(good) == "/app"
    assert (await api.get("/app")).status_code == 200


async def test_an_expired_console_session_is_renewed_from_the_refresh_cookie(
    api: httpx.AsyncClient,
) -> None:
    owner = await register(api, "owner@renew.example.com", "Renew Co")
    await api.post("/app/login", data={"email": owner.email, "password": PASSWORD})
    api.cookies.delete("servio_access")  # the access cookie expired
    gone = await api.get("/app?week=1")
    where = urlsplit(_location(gone))
    assert where.path == "/app/session/renew"
    assert parse_qs(where.query)["next"] == ["/app?week=1"]
    renewed = await api.get(_location(gone))
    assert _location(renewed) == "/app?week=1"
    assert api.cookies.get("servio_access")
    assert (await api.get("/app")).status_code == 200
    api.cookies.clear()
    htmx = await api.get("/app", headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"] == "/app/login?next=%2Fapp"


@SQLITE_ONLY
async def test_pages_are_gzipped_for_browsers_that_accept_it(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@zip.example.com", "Zip Clean")
    page = f"/b/{owner.org_slug}"
    packed = await api.get(page, headers=HTML | {"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "accept-encoding"
    assert "Book with Zip Clean" in packed.text  # httpx undid the gzip
    small = await api.get("/no-such-page", headers=HTML | {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # about one packet: left as it is
    plain = await api.get(page, headers=HTML | {"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    key = re.compile(r'data-idempotency-key="[0-9a-f]+"')  # a new one per render
    assert key.sub("", plain.text) == key.sub("", packed.text)
    assert len(gzip.compress(plain.content)) < len(plain.content)
