"""``Idempotency-Key`` on POST through the real app: a retry replays the first answer and
never runs the handler again; misuse and races answer Problem+JSON 409s; what is not
kept (server errors, crashes, 429) lets the retry run; other requests are untouched."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, select, update
from starlette.types import Scope

from servio.domains.identity.models import Org
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.http.middleware import header
from servio.platform.idempotency import DONE, IdempotencyKey, claim, request_fingerprint
from tests.conftest import make_settings
from tests.support.app import app_client, app_of
from tests.support.idempotency_routes import Gate, install_idempotency_routes
from tests.support.identity import register
from tests.support.problems import assert_problem
from tests.support.tcp_proxy import TcpProxy

SCOPE = "org-a:user-1"
ORGS = "/_t/idem/orgs"


async def scope_from_test_header(scope: Scope) -> str | None:
    return header(scope, b"x-test-scope")


@dataclass
class Harness:
    client: httpx.AsyncClient
    runs: list[str]
    db: Database

    async def post(
        self,
        body: dict[str, Any],
        *,
        key: str | None = "key-1",
        scope: str | None = SCOPE,
        path: str = ORGS,
    ) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if scope is not None:
            headers["X-Test-Scope"] = scope
        return await self.client.post(path, content=json.dumps(body), headers=headers)

    async def org_slugs(self) -> list[str]:
        async with self.db.system_session() as session:
            return list(await session.scalars(select(Org.slug).order_by(Org.slug)))

    @property
    def gate(self) -> Gate:
        gate: Gate = app_of(self.client).state.idempotency_gate
        return gate

    async def stopped_first_run(self, body: dict[str, Any]) -> asyncio.Task[httpx.Response]:
        """Send ``body`` and return once its run waits at the gate."""
        first = asyncio.create_task(self.post(body))
        await asyncio.wait_for(self.gate.reached.wait(), timeout=10)
        return first

    async def outlive_in_flight_timeout(self) -> None:
        """Age every claim past the in-flight timeout, as if its run had stalled or died."""
        async with self.db.unit_of_work(system=True) as session:
            await session.execute(
                update(IdempotencyKey).values(created_at=utcnow() - timedelta(minutes=6))
            )

    async def keys(self) -> list[tuple[str, str, str, int | None]]:
        async with self.db.system_session() as session:
            rows = await session.scalars(
                select(IdempotencyKey).order_by(IdempotencyKey.scope, IdempotencyKey.key)
            )
            return [(r.scope, r.key, r.state, r.response_status) for r in rows]


@asynccontextmanager
async def _harness(settings: Settings, db: Database) -> AsyncIterator[Harness]:
    async with app_client(
        settings, raise_errors=False, idempotency_scope=scope_from_test_header
    ) as client:
        yield Harness(client, install_idempotency_routes(app_of(client)), db)


@pytest.fixture
async def idem(settings: Settings, db: Database) -> AsyncIterator[Harness]:
    async with _harness(settings, db) as harness:
        yield harness


async def test_retry_replays_the_first_response_and_runs_once(idem: Harness) -> None:
    first = await idem.post({"slug": "alpha"})
    again = await idem.post({"slug": "alpha"})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.json()["run"] == 1
    for name in ("content-type", "location", "etag", "content-length"):
        assert again.headers[name] == first.headers[name], name
    assert "set-cookie" in first.headers
    assert "set-cookie" not in again.headers  # never kept, never replayed
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert idem.runs == ["alpha"]
    assert await idem.org_slugs() == ["alpha-1"]
    assert await idem.keys() == [(SCOPE, "key-1", DONE, 201)]


async def test_same_key_on_a_different_request_is_409(idem: Harness) -> None:
    assert (await idem.post({"slug": "alpha"})).status_code == 201
    different = [
        await idem.post({"slug": "beta"}),
        await idem.post({"slug": "alpha"}, path=ORGS + "?dry_run=1"),
        await idem.post({"slug": "alpha"}, path="/_t/idem/stream"),
    ]
    for response in different:
        assert_problem(response, 409, "idempotency-key-reused")
    assert (await idem.post({"slug": "alpha"})).headers["idempotent-replayed"] == "true"
    assert idem.runs == ["alpha"]
    assert await idem.org_slugs() == ["alpha-1"]


async def test_concurrent_duplicates_run_once(idem: Harness) -> None:
    responses = await asyncio.gather(*(idem.post({"slug": "slow", "delay": 0.3}) for _ in range(3)))
    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1
    for other in responses:
        if other is ran[0]:
            continue
        if other.status_code == 409:
            assert_problem(other, 409, "idempotency-key-in-flight")
            assert other.headers["retry-after"] == "1"
        else:
            assert other.headers["idempotent-replayed"] == "true"
            assert other.content == ran[0].content
    assert idem.runs == ["slow"]
    assert await idem.org_slugs() == ["slow-1"]
    assert await idem.keys() == [(SCOPE, "key-1", DONE, 201)]


async def test_duplicate_of_a_running_request_is_409_with_retry_after(idem: Harness) -> None:
    body = {"slug": "alpha"}
    fingerprint = request_fingerprint("POST", ORGS, b"", json.dumps(body).encode())
    assert isinstance(await claim(idem.db, SCOPE, "key-1", fingerprint), uuid.UUID)
    response = await idem.post(body)
    problem = assert_problem(response, 409, "idempotency-key-in-flight")
    assert response.headers["retry-after"] == "1"
    assert "not finished" in str(problem["detail"])
    assert idem.runs == []
    assert await idem.org_slugs() == []


async def test_scopes_are_independent(idem: Harness) -> None:
    a = await idem.post({"slug": "alpha"}, scope="org-a:user-1")
    b = await idem.post({"slug": "beta"}, scope="org-b:user-1")
    assert (a.status_code, b.status_code) == (201, 201)
    assert "idempotent-replayed" not in b.headers
    assert (await idem.post({"slug": "alpha"}, scope="org-a:user-1")).content == a.content
    assert (await idem.post({"slug": "beta"}, scope="org-b:user-1")).content == b.content
    assert idem.runs == ["alpha", "beta"]
    assert await idem.org_slugs() == ["alpha-1", "beta-2"]
    assert [k[0] for k in await idem.keys()] == ["org-a:user-1", "org-b:user-1"]


@pytest.mark.parametrize(
    ("outcome", "status"), [("unavailable", 503), ("crash", 500), ("rate-limited", 429)]
)
async def test_answers_inviting_a_retry_are_not_kept(
    idem: Harness, outcome: str, status: int
) -> None:
    first = await idem.post({"slug": "flaky", "outcome": outcome})
    retry = await idem.post({"slug": "flaky", "outcome": outcome})
    assert (first.status_code, retry.status_code) == (status, status)
    assert "idempotent-replayed" not in retry.headers
    assert idem.runs == ["flaky", "flaky"]
    assert await idem.keys() == []
    # A 503 is answered after the handler's writes committed: both runs left their row.
    expected_orgs = ["flaky-1", "flaky-2"] if outcome == "unavailable" else []
    assert await idem.org_slugs() == expected_orgs


async def test_expired_key_is_replaced(idem: Harness) -> None:
    assert (await idem.post({"slug": "alpha"})).json()["run"] == 1
    async with idem.db.unit_of_work(system=True) as session:
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    fresh = await idem.post({"slug": "alpha"})
    assert fresh.status_code == 201
    assert "idempotent-replayed" not in fresh.headers
    assert fresh.json()["run"] == 2
    assert await idem.org_slugs() == ["alpha-1", "alpha-2"]
    async with idem.db.system_session() as session:
        (row,) = await session.scalars(select(IdempotencyKey))
    assert row.state == DONE
    assert row.expires_at > utcnow() + timedelta(hours=23)


@pytest.mark.parametrize(
    "key", ["x" * 256, "", "caf\u00e9".encode(), "tab\there", b"nul\x00"], ids=repr
)
async def test_malformed_key_is_400(idem: Harness, key: str | bytes) -> None:
    raw = key if isinstance(key, bytes) else key.encode()
    response = await idem.client.post(
        ORGS,
        json={"slug": "alpha"},
        headers=[(b"Idempotency-Key", raw), (b"X-Test-Scope", SCOPE.encode())],
    )
    problem = assert_problem(response, 400, "idempotency-key-invalid")
    assert "Idempotency-Key" in str(problem["detail"])
    assert idem.runs == []
    assert await idem.keys() == []


async def test_several_keys_are_400(idem: Harness) -> None:
    response = await idem.client.post(
        ORGS,
        json={"slug": "alpha"},
        headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b"), ("X-Test-Scope", SCOPE)],
    )
    assert_problem(response, 400, "idempotency-key-invalid")
    assert idem.runs == []


async def test_other_methods_are_untouched(idem: Harness) -> None:
    headers = {"Idempotency-Key": "key-1", "X-Test-Scope": SCOPE}
    for _ in range(2):
        response = await idem.client.put(ORGS, json={"slug": "put"}, headers=headers)
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
    assert idem.runs == ["put", "put"]
    assert await idem.keys() == []


async def test_post_without_a_key_is_untouched(idem: Harness) -> None:
    for _ in range(2):
        assert (await idem.post({"slug": "alpha"}, key=None)).status_code == 201
    assert idem.runs == ["alpha", "alpha"]
    assert await idem.org_slugs() == ["alpha-1", "alpha-2"]
    assert await idem.keys() == []


async def test_request_without_a_scope_is_untouched(idem: Harness) -> None:
    for key in ("key-1", "key-1", "x" * 300):  # not even validated
        assert (await idem.post({"slug": "alpha"}, key=key, scope=None)).status_code == 201
    assert idem.runs == ["alpha"] * 3
    assert await idem.keys() == []


async def test_default_app_scopes_keys_by_identity(api: httpx.AsyncClient, db: Database) -> None:
    """Without a test scope the app uses identity's: anonymous callers per org and
    address, signed-in callers per org and user, so one key never crosses them."""
    runs = install_idempotency_routes(app_of(api))
    headers = {"Idempotency-Key": "key-1"}
    first = await api.post(ORGS, json={"slug": "alpha"}, headers=headers)
    again = await api.post(ORGS, json={"slug": "alpha"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert runs == ["alpha"]
    acct = await register(api, "ada@example.com", "Bright Homes")
    signed_in = await api.post(ORGS, json={"slug": "alpha"}, headers=headers | acct.auth)
    assert signed_in.status_code == 201
    assert "idempotent-replayed" not in signed_in.headers
    assert runs == ["alpha", "alpha"]
    async with db.system_session() as session:
        scopes = sorted(k.scope for k in await session.scalars(select(IdempotencyKey)))
    assert scopes[0] == f"org:{acct.org_id}:user:{acct.user_id}"
    assert scopes[1].startswith("public:-:")


async def test_streamed_response_is_kept_whole(idem: Harness) -> None:
    first = await idem.post({}, path="/_t/idem/stream")
    again = await idem.post({}, path="/_t/idem/stream")
    assert first.text == "chunk-0;chunk-1;chunk-2;"
    assert again.text == first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["etag"] == '"s1"'
    assert idem.runs == ["stream"]


async def test_oversized_streamed_body_is_413_and_claims_nothing(db_url: str, db: Database) -> None:
    async with _harness(make_settings(db_url, max_body_bytes=1024), db) as harness:

        async def body() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b" " * 600

        response = await harness.client.post(
            ORGS, content=body(), headers={"Idempotency-Key": "k", "X-Test-Scope": SCOPE}
        )
        assert_problem(response, 413, "payload-too-large")
        assert harness.runs == []
        assert await harness.keys() == []


async def test_problem_types_are_documented(idem: Harness) -> None:
    listed = {p["type"] for p in (await idem.client.get("/problems")).json()}
    assert {
        "/problems/idempotency-key-invalid",
        "/problems/idempotency-key-reused",
        "/problems/idempotency-key-in-flight",
        "/problems/idempotency-answer-lost",
        "/problems/idempotency-answer-not-kept",
    } <= listed


async def test_client_errors_are_kept_and_replayed(idem: Harness) -> None:
    first = await idem.post({"outcome": "created"})  # no slug: 422 before the handler
    again = await idem.post({"outcome": "created"})
    assert_problem(first, 422, "validation-error")
    assert again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await idem.keys() == [(SCOPE, "key-1", DONE, 422)]


async def test_a_run_stopped_after_its_commit_is_never_run_again(idem: Harness) -> None:
    """Its write and the end of its claim commit together: a process that dies before the
    answer is stored leaves a key its retries cannot take over."""
    body = {"slug": "alpha", "stop": "committed"}
    first = await idem.stopped_first_run(body)
    assert await idem.keys() == [(SCOPE, "key-1", DONE, None)]
    assert await idem.org_slugs() == ["alpha-1"]
    await idem.outlive_in_flight_timeout()
    retry = await idem.post(body)
    problem = assert_problem(retry, 409, "idempotency-answer-lost")
    assert "will not run again" in str(problem["detail"])
    assert idem.runs == ["alpha"]
    assert await idem.org_slugs() == ["alpha-1"]

    idem.gate.opened.set()  # it was only slow: its answer is still kept and replayed
    answered = await first
    assert answered.status_code == 201
    assert answered.json()["slug"] == "alpha-1"
    replay = await idem.post(body)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == answered.content
    assert await idem.keys() == [(SCOPE, "key-1", DONE, 201)]


async def test_a_duplicate_during_the_commit_window_is_in_flight(idem: Harness) -> None:
    body = {"slug": "alpha", "stop": "committed"}
    first = await idem.stopped_first_run(body)
    duplicate = await idem.post(body)
    assert_problem(duplicate, 409, "idempotency-key-in-flight")
    assert duplicate.headers["retry-after"] == "1"
    idem.gate.opened.set()
    assert (await first).status_code == 201
    assert idem.runs == ["alpha"]


@pytest.mark.parametrize("writes", [True, False], ids=["writing", "read-only"])
async def test_a_run_whose_key_was_taken_over_keeps_nothing(idem: Harness, writes: bool) -> None:
    """A run that outlived the in-flight timeout lost its key to a retry: its write is
    undone and its answer withheld, so the key's one effect and answer are the retry's."""
    body = {"slug": "slow", "stop": "before-write", "write": writes}
    first = await idem.stopped_first_run(body)
    await idem.outlive_in_flight_timeout()
    retry = await idem.post(body)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert retry.json()["run"] == 2

    idem.gate.opened.set()
    late = await first
    problem = assert_problem(late, 503, "idempotency-answer-not-kept")
    assert "took it over" in str(problem["detail"])
    assert late.headers["retry-after"] == "5"
    assert idem.runs == ["slow", "slow"]
    assert await idem.org_slugs() == (["slow-2"] if writes else [])
    assert await idem.keys() == [(SCOPE, "key-1", DONE, 201)]
    again = await idem.post(body)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == retry.content


@pytest.mark.parametrize("status", [401, 403])
async def test_answers_about_the_caller_are_not_kept(idem: Harness, status: int) -> None:
    outcome = {401: "unauthenticated", 403: "forbidden"}[status]
    for _ in range(2):
        response = await idem.post({"slug": "who", "outcome": outcome})
        assert response.status_code == status
        assert "idempotent-replayed" not in response.headers
    assert idem.runs == ["who", "who"]
    assert await idem.keys() == []


@pytest.mark.postgres
async def test_an_answer_that_cannot_be_stored_is_withheld(pg_url: str, pg_db: Database) -> None:
    """The database goes away after the request's write committed and before its answer
    is stored: the client gets a 503, not a success its key would not replay, and the
    key never runs the request again."""
    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
    body = {"slug": "alpha", "stop": "committed"}
    try:
        async with _harness(make_settings(via_proxy, database_timeout_seconds=1.0), pg_db) as idem:
            first = await idem.stopped_first_run(body)
            await proxy.cut()
            idem.gate.opened.set()
            withheld = await first
            assert_problem(withheld, 503, "idempotency-answer-not-kept")
            assert withheld.headers["retry-after"] == "5"
            assert "alpha-1" not in withheld.text

            await proxy.start()
            assert await idem.keys() == [(SCOPE, "key-1", DONE, None)]
            assert_problem(await idem.post(body), 409, "idempotency-key-in-flight")
            await idem.outlive_in_flight_timeout()
            assert_problem(await idem.post(body), 409, "idempotency-answer-lost")
            assert idem.runs == ["alpha"]
            assert await idem.org_slugs() == ["alpha-1"]
    finally:
        await proxy.cut()
