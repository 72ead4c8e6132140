"""The idempotency key store: one claim per (scope, key) decided by the database, kept
responses, expiry and abandoned claims, the retention prune, and key validation; and
the request's writes ending its claim in their own commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from servio.domains.identity.models import Org
from servio.platform.db import Database, utcnow
from servio.platform.idempotency import (
    DONE,
    IN_FLIGHT,
    ClaimTakenOver,
    ExistingKey,
    IdempotencyKey,
    InvalidIdempotencyKey,
    RunningClaim,
    StoredResponse,
    claim,
    complete,
    prune_expired,
    release,
    request_fingerprint,
    running,
    validate_key,
)

FP = request_fingerprint("POST", "/v1/things", b"", b'{"a": 1}')
CREATED = StoredResponse(
    status=201, headers=[("content-type", "application/json")], body=b'{"id": 1}'
)


async def _rows(db: Database) -> list[IdempotencyKey]:
    async with db.system_session() as session:
        found = await session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.scope))
        return list(found)


async def _backdate(db: Database, **values: object) -> None:
    async with db.unit_of_work(system=True) as session:
        await session.execute(update(IdempotencyKey).values(**values))


@pytest.mark.parametrize(
    "key",
    ["a", "x" * 255, "0b6f8a8e-5d1c-4f4e-9a57-3f0c2d9e1b7a", "order 42 / retry", "!~{}[]:;'\"\\"],
)
def test_printable_ascii_keys_up_to_255_are_valid(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "caf\u00e9", "tab\there", "new\nline", "nul\x00", "del\x7f"]
)
def test_other_keys_are_invalid(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey) as caught:
        validate_key(key)
    assert caught.value.status == 400
    assert caught.value.type == "idempotency-key-invalid"


def test_fingerprint_covers_method_path_query_and_body() -> None:
    base = ("POST", "/v1/things", b"a=1", b"{}")
    assert request_fingerprint(*base) == request_fingerprint(*base)
    variants = [
        ("PUT", "/v1/things", b"a=1", b"{}"),
        ("POST", "/v1/other", b"a=1", b"{}"),
        ("POST", "/v1/things", b"a=2", b"{}"),
        ("POST", "/v1/things", b"a=1", b"{ }"),
        ("POST", "/v1/things", b"a=1{}", b""),  # bytes moved from body to query
    ]
    prints = {request_fingerprint(*variant) for variant in variants}
    assert len(prints) == len(variants)
    assert request_fingerprint(*base) not in prints


async def test_concurrent_claims_admit_exactly_one(db: Database) -> None:
    outcomes = await asyncio.gather(*(claim(db, "org-a:user-1", "k1", FP) for _ in range(8)))
    winners = [o for o in outcomes if isinstance(o, uuid.UUID)]
    losers = [o for o in outcomes if isinstance(o, ExistingKey)]
    assert len(winners) == 1
    assert len(losers) == 7
    assert all(o.response is None and o.fingerprint == FP for o in losers)
    rows = await _rows(db)
    assert [(r.id, r.state) for r in rows] == [(winners[0], IN_FLIGHT)]


async def test_completed_claim_returns_the_kept_response(db: Database) -> None:
    claim_id = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(claim_id, uuid.UUID)
    await complete(db, claim_id, CREATED)
    again = await claim(db, "org-a:user-1", "k1", FP)
    assert again == ExistingKey(fingerprint=FP, response=CREATED)
    (row,) = await _rows(db)
    assert row.state == DONE
    assert row.expires_at - row.created_at == timedelta(hours=24)


async def test_scopes_never_see_each_others_keys(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "shared", FP)
    second = await claim(db, "org-b:user-1", "shared", FP)
    third = await claim(db, "org-a:user-2", "shared", FP)
    assert all(isinstance(o, uuid.UUID) for o in (first, second, third))
    assert len({first, second, third}) == 3


async def test_released_claim_can_be_claimed_again(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(first, uuid.UUID)
    await release(db, first)
    assert await _rows(db) == []
    second = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(second, uuid.UUID)
    assert second != first


async def test_expired_key_is_replaced(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(first, uuid.UUID)
    await complete(db, first, CREATED)
    await _backdate(db, expires_at=utcnow() - timedelta(seconds=1))
    second = await claim(db, "org-a:user-1", "k1", "another fingerprint")
    assert isinstance(second, uuid.UUID)
    (row,) = await _rows(db)
    assert (row.id, row.state, row.fingerprint) == (second, IN_FLIGHT, "another fingerprint")
    assert row.expires_at > utcnow() + timedelta(hours=23)


async def test_concurrent_claims_on_an_expired_key_admit_exactly_one(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(first, uuid.UUID)
    await complete(db, first, CREATED)
    await _backdate(db, expires_at=utcnow() - timedelta(seconds=1))
    outcomes = await asyncio.gather(*(claim(db, "org-a:user-1", "k1", FP) for _ in range(8)))
    winners = [o for o in outcomes if isinstance(o, uuid.UUID)]
    assert len(winners) == 1
    assert winners[0] != first
    assert [(r.id, r.state) for r in await _rows(db)] == [(winners[0], IN_FLIGHT)]


async def test_in_flight_claim_is_kept_until_abandoned(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(first, uuid.UUID)
    assert isinstance(await claim(db, "org-a:user-1", "k1", FP), ExistingKey)
    await _backdate(db, created_at=utcnow() - timedelta(minutes=6))
    second = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(second, uuid.UUID)
    assert [r.id for r in await _rows(db)] == [second]


async def test_done_key_is_not_abandoned_by_age(db: Database) -> None:
    first = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(first, uuid.UUID)
    await complete(db, first, CREATED)
    await _backdate(db, created_at=utcnow() - timedelta(hours=23))
    assert await claim(db, "org-a:user-1", "k1", FP) == ExistingKey(FP, CREATED)


async def test_prune_deletes_expired_keys_only(db: Database) -> None:
    for scope in ("org-a:old", "org-b:old", "org-c:fresh"):
        assert isinstance(await claim(db, scope, "k1", FP), uuid.UUID)
    async with db.unit_of_work(system=True) as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.scope.like("%:old"))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert await prune_expired(db) == 2
    assert [r.scope for r in await _rows(db)] == ["org-c:fresh"]
    assert await prune_expired(db) == 0
    assert await prune_expired(db, now=utcnow() + timedelta(hours=25)) == 1
    async with db.system_session() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


@pytest.mark.parametrize("odd", ["s" * 256, "public:caf\u00e9", "public:nul\x00"], ids=repr)
async def test_long_or_unusual_scopes_are_kept_by_digest(db: Database, odd: str) -> None:
    assert isinstance(await claim(db, odd, "k1", FP), uuid.UUID)
    assert isinstance(await claim(db, odd + "x", "k1", FP), uuid.UUID)
    assert await claim(db, odd, "k1", FP) == ExistingKey(FP, None)
    scopes = [r.scope for r in await _rows(db)]
    assert len(scopes) == 2
    assert all(s.startswith("sha256:") and len(s) == 71 for s in scopes)


async def _claimed(db: Database) -> uuid.UUID:
    claim_id = await claim(db, "org-a:user-1", "k1", FP)
    assert isinstance(claim_id, uuid.UUID)
    return claim_id


async def _add_org(db: Database, slug: str) -> None:
    async with db.unit_of_work(system=True) as session:
        session.add(Org(slug=slug, name=slug, vertical="cleaning", timezone="UTC", currency="CAD"))


async def _state(db: Database) -> list[tuple[str, int | None]]:
    return [(r.state, r.response_status) for r in await _rows(db)]


async def test_a_writing_commit_of_the_running_request_ends_its_claim(db: Database) -> None:
    claim_id = await _claimed(db)
    with running(RunningClaim(claim_id)):
        async with db.unit_of_work(system=True) as session:
            await session.scalar(select(func.count()).select_from(Org))  # reads only
        assert await _state(db) == [(IN_FLIGHT, None)]
        await _add_org(db, "made-once")
    assert await _state(db) == [(DONE, None)]
    # Long after, with no answer stored, the key is never run again.
    await _backdate(db, created_at=utcnow() - timedelta(minutes=6))
    assert await claim(db, "org-a:user-1", "k1", FP) == ExistingKey(FP, None, answer_lost=True)
    await complete(db, claim_id, CREATED)  # a run that was only slow still keeps its answer
    assert await claim(db, "org-a:user-1", "k1", FP) == ExistingKey(FP, CREATED)


async def test_writes_outside_the_run_or_after_its_answer_leave_the_claim(db: Database) -> None:
    claim_id = await _claimed(db)
    await _add_org(db, "no-request")
    settled = RunningClaim(claim_id, settled=True)
    with running(settled):
        await _add_org(db, "after-the-answer")
    assert await _state(db) == [(IN_FLIGHT, None)]


async def _write_then_fail(db: Database) -> None:
    async with db.unit_of_work(system=True) as session:
        session.add(
            Org(slug="undone", name="x", vertical="cleaning", timezone="UTC", currency="CAD")
        )
        await session.flush()
        raise RuntimeError("the handler failed")


async def test_a_rolled_back_write_leaves_the_claim_in_flight(db: Database) -> None:
    claim_id = await _claimed(db)
    with running(RunningClaim(claim_id)), pytest.raises(RuntimeError):
        await _write_then_fail(db)
    assert await _state(db) == [(IN_FLIGHT, None)]


async def test_a_write_after_the_claim_was_taken_over_is_undone(db: Database) -> None:
    claim_id = await _claimed(db)
    await _backdate(db, created_at=utcnow() - timedelta(minutes=6))
    retry = await claim(db, "org-a:user-1", "k1", FP)  # takes the abandoned claim over
    assert isinstance(retry, uuid.UUID)
    with running(RunningClaim(claim_id)), pytest.raises(ClaimTakenOver):
        await _add_org(db, "too-late")
    async with db.system_session() as session:
        assert await session.scalar(select(func.count()).select_from(Org)) == 0
    with pytest.raises(ClaimTakenOver):
        await complete(db, claim_id, CREATED)
    assert [(r.id, r.state) for r in await _rows(db)] == [(retry, IN_FLIGHT)]


async def test_a_claim_whose_run_committed_is_not_abandoned_by_age(db: Database) -> None:
    claim_id = await _claimed(db)
    await _backdate(db, created_at=utcnow() - timedelta(minutes=6))
    with running(RunningClaim(claim_id)):
        await _add_org(db, "just-in-time")
    assert await claim(db, "org-a:user-1", "k1", FP) == ExistingKey(FP, None, answer_lost=True)
    assert [r.id for r in await _rows(db)] == [claim_id]
