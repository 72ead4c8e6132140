"""``Idempotency-Key`` over real sockets against a live server: a retry sent the instant
the first answer arrives is a replay of that answer, never a 409 "still running" and
never a second run. Over ASGI the client only sees a response once the app returned,
which hides the window between the answer and its recording; a live server does not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from servio.domains.bookings.models import Booking
from servio.domains.identity.models import ApiKey
from servio.domains.scheduling import service as scheduling
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.idempotency import DONE, IdempotencyKey
from servio.web.app import create_app
from tests.conftest import make_settings
from tests.support.identity import register
from tests.support.live import serve

# A live server and fifty rounds of simultaneous retries.
pytestmark = pytest.mark.slow

ROUNDS = 50


@pytest.fixture
def live_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        db_url, var_dir=tmp_path / "var", rate_limit_enabled=False, access_log=False
    )


@pytest.fixture
def live_url(live_settings: Settings, db: Database) -> Iterator[str]:
    with serve(create_app(live_settings), lifespan="on") as url:
        yield url


async def _post_then_retry_at_once(
    http: httpx.AsyncClient, path: str, body: dict[str, object], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    keyed = headers | {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await http.post(path, json=body, headers=keyed)
    again = await http.post(path, json=body, headers=keyed)
    return first, again


def _replay_failures(
    outcomes: list[tuple[httpx.Response, httpx.Response]], created: int
) -> list[str]:
    """What went wrong per round: the first must create, the retry replay it exactly."""
    failures = []
    for n, (first, again) in enumerate(outcomes):
        if first.status_code != created or "idempotent-replayed" in first.headers:
            failures.append(f"round {n}: first answered {first.status_code} {first.text[:120]}")
        elif (
            again.status_code != first.status_code
            or again.content != first.content
            or again.headers.get("idempotent-replayed") != "true"
        ):
            failures.append(f"round {n}: retry answered {again.status_code} {again.text[:120]}")
    return failures


async def _kept_keys(db: Database) -> list[tuple[str, int | None]]:
    async with db.system_session() as session:
        rows = await session.scalars(select(IdempotencyKey))
        return [(row.state, row.response_status) for row in rows]


async def test_api_key_retry_at_once_is_replayed(live_url: str, db: Database) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        owner = await register(http, "ada@example.com", "Bright Homes")
        outcomes = [
            await _post_then_retry_at_once(
                http, "/v1/api-keys", {"name": f"Zapier {n}"}, owner.auth
            )
            for n in range(ROUNDS)
        ]
    assert _replay_failures(outcomes, 201) == []
    keys = {first.json()["key"] for first, _ in outcomes}
    assert len(keys) == ROUNDS
    async with db.system_session() as session:
        made = await session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.org_id == owner.org_id)
        )
    assert made == ROUNDS
    assert await _kept_keys(db) == [(DONE, 201)] * ROUNDS


async def _first_free_start(http: httpx.AsyncClient, org: str, minutes: int) -> str:
    """The earliest start the app offers within its longest look-ahead from today."""
    found = await http.get(
        "/v1/slots",
        params={
            "org": org,
            "date": utcnow().date().isoformat(),
            "days": scheduling.MAX_DAYS,
            "duration_minutes": minutes,
        },
    )
    assert found.status_code == 200, found.text
    slots = found.json()["slots"]
    assert slots, "the business offers no free start"
    return str(slots[0]["start"])


async def test_booking_retry_at_once_is_replayed(live_url: str, db: Database) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        owner = await register(http, "ada@example.com", "Bright Homes")
        async with db.unit_of_work(system=True) as s:
            await scheduling.add_resource(
                s, owner.org_id, "Team A", "team", {d: [(time(0), time(23, 59))] for d in range(7)}
            )
        outcomes = []
        for _ in range(ROUNDS):
            start = await _first_free_start(http, owner.org_slug, 60)
            body = {
                "customer": {"name": "Jo Doe", "email": "jo@example.com"},
                "start": start,
                "duration_minutes": 60,
            }
            outcomes.append(
                await _post_then_retry_at_once(http, f"/v1/bookings?org={owner.org_slug}", body, {})
            )
    assert _replay_failures(outcomes, 201) == []
    async with db.system_session() as session:
        made = await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.org_id == owner.org_id)
        )
    assert made == ROUNDS
    assert len({first.json()["id"] for first, _ in outcomes}) == ROUNDS
    assert await _kept_keys(db) == [(DONE, 201)] * ROUNDS
