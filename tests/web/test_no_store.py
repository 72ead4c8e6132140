"""Responses to requests that carry credentials, and every console page, tell browsers
and proxies not to keep a copy (``Cache-Control: no-store``); anonymous public answers
and static files keep their own caching."""

from __future__ import annotations

import httpx

from servio.web.pages.rendering import static_url
from tests.support.identity import PASSWORD, admin_key, bearer, new_key, register


async def test_api_answers_to_a_bearer_or_an_admin_key_are_not_stored(
    api: httpx.AsyncClient,
) -> None:
    owner = await register(api, "owner@nostore.example.com", "No Store Co")
    me = await api.get("/v1/auth/me", headers=bearer(owner.access))
    assert me.status_code == 200
    assert me.json()["user"]["email"] == owner.email
    assert me.headers["cache-control"] == "no-store"

    key = (await new_key(api, bearer(owner.access)))["key"]
    users = await api.get("/v1/iam/users", headers=admin_key(key))
    assert users.status_code == 200
    assert users.headers["cache-control"] == "no-store"
    refused = await api.get("/v1/auth/me", headers=bearer("not-a-token"))
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"

    anonymous = await api.get("/healthz")
    assert anonymous.status_code == 200
    assert "cache-control" not in anonymous.headers


async def test_every_console_page_and_cookie_session_answer_is_not_stored(
    api: httpx.AsyncClient,
) -> None:
    owner = await register(api, "owner@console-nostore.example.com", "Console Co")
    sign_in = await api.get("/app/login")  # no credentials yet: a console page all the same
    assert sign_in.status_code == 200
    assert sign_in.headers["cache-control"] == "no-store"
    signed = await api.post("/app/login", data={"email": owner.email, "password": PASSWORD})
    assert signed.status_code == 303
    assert signed.headers["cache-control"] == "no-store"
    home = await api.get("/app")
    assert home.status_code == 200
    assert "Console Co" in home.text
    assert home.headers["cache-control"] == "no-store"
    via_cookie = await api.get("/v1/auth/me")  # the browser session's cookie
    assert via_cookie.json()["user"]["email"] == owner.email
    assert via_cookie.headers["cache-control"] == "no-store"

    # Static files are the same for everyone: their own caching stands.
    asset = await api.get(static_url("app.css"))
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_a_client_portal_cookie_makes_the_answer_private(api: httpx.AsyncClient) -> None:
    api.cookies.set("client_session", "some-session-token")
    page = await api.get("/client/login/request")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    api.cookies.clear()
    api.cookies.set("servio_csrf", "not-a-credential")
    public = await api.get("/healthz")
    assert "cache-control" not in public.headers


async def test_a_malformed_cookie_does_not_hide_the_session_cookie(api: httpx.AsyncClient) -> None:
    r = await api.get(
        "/healthz", headers={"Cookie": 'bad"cookie=1 2; servio_access=some-token; x=y'}
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
