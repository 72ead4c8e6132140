"""Idempotency keys: a client retries a POST with the same ``Idempotency-Key`` and gets the
first answer again instead of a second effect.

One row per (scope, key), where the scope is the verified org and principal of the
request. The row is claimed ``in_flight`` in its own committed transaction before the
request runs, so the unique constraint decides which of two concurrent duplicates runs.
Every transaction of that request that writes marks the row ``done`` as it commits, so
its effect and the end of the claim are one commit: a process that stops before the
answer is stored leaves a key that is never run again (its retries get
``idempotency-answer-lost``), where an in-flight claim would be taken over once
abandoned. The row then holds the response to replay until it expires (24 hours). The
HTTP side lives in ``servio.platform.http.idempotency``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, mapped_column

from servio.platform.db import Base, Database, UTCDateTime, utcnow
from servio.platform.db.engine import TenantSession
from servio.platform.errors import DomainError

KEY_MAX_LENGTH = 255
SCOPE_MAX_LENGTH = 255
KEY_TTL = timedelta(hours=24)
# A claim older than this that never finished belongs to a process that died mid-request.
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)
IN_FLIGHT = "in_flight"
DONE = "done"
_CLAIM_ATTEMPTS = 3


class InvalidIdempotencyKey(DomainError):
    status = 400
    type = "idempotency-key-invalid"
    title = "Invalid Idempotency-Key"
    description = (
        "Send one Idempotency-Key header of 1 to 255 printable ASCII characters "
        "(a UUID is a good choice)."
    )


class IdempotencyKeyReused(DomainError):
    status = 409
    type = "idempotency-key-reused"
    title = "Idempotency-Key reused for a different request"
    description = (
        "This Idempotency-Key was first sent with another method, path, query or body; "
        "use a new key for a new request."
    )


class IdempotencyKeyInFlight(DomainError):
    status = 409
    type = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still running"
    description = "Retry after the time Retry-After gives; the first request's answer is replayed."


class AnswerNotKept(DomainError):
    status = 503
    type = "idempotency-answer-not-kept"
    title = "The answer could not be kept for replay"
    description = (
        "The request's answer could not be stored under its Idempotency-Key, so it is not "
        "sent; retry later with the same key."
    )

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.description, headers={"Retry-After": "5"})


class ClaimTakenOver(AnswerNotKept):
    """This run outlived the in-flight timeout and a retry took its key over: its writes
    are undone, and the retry's answer is the one the key replays."""


class IdempotencyAnswerLost(DomainError):
    status = 409
    type = "idempotency-answer-lost"
    title = "The first request with this Idempotency-Key took effect but its answer was lost"
    description = (
        "The first request committed its changes but its answer was never stored (the server "
        "stopped in between); it will not run again. Look the result up, or send a new key "
        "for a new request."
    )


class IdempotencyKey(Base):
    """The claim on one key of one scope, then the response it produced."""

    __tablename__ = "idempotency_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(SCOPE_MAX_LENGTH))
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=IN_FLIGHT)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
        CheckConstraint(f"state IN ('{IN_FLIGHT}', '{DONE}')", name="state"),
    )


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class ExistingKey:
    """A live row someone else claimed: its request fingerprint and, once done, its answer;
    ``answer_lost`` when its run committed changes long ago but never stored an answer."""

    fingerprint: str
    response: StoredResponse | None
    answer_lost: bool = False


def validate_key(value: str) -> str:
    """The key as given when it is 1 to 255 printable ASCII characters; else the error."""
    if not 0 < len(value) <= KEY_MAX_LENGTH:
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} characters (got {len(value)})."
        )
    if not all(" " <= char <= "~" for char in value):
        raise InvalidIdempotencyKey("Idempotency-Key may contain printable ASCII characters only.")
    return value


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """SHA-256 over the method, path, query and body, each part length-prefixed so that
    moving bytes from one part to the next changes the fingerprint."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def stored_scope(scope: str) -> str:
    """The scope as stored: itself when short printable ASCII, else its SHA-256, so that a
    scope built from request data can never overflow the column or carry a NUL."""
    if len(scope) <= SCOPE_MAX_LENGTH and all(" " <= char <= "~" for char in scope):
        return scope
    return "sha256:" + hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()


def _is_live(row: IdempotencyKey, now: datetime, in_flight_timeout: timedelta) -> bool:
    if row.expires_at <= now:
        return False
    return row.state == DONE or row.created_at > now - in_flight_timeout


def _existing(row: IdempotencyKey, now: datetime, in_flight_timeout: timedelta) -> ExistingKey:
    response = None
    if row.state == DONE and row.response_status is not None:
        response = StoredResponse(
            status=row.response_status,
            headers=[(name, value) for name, value in row.response_headers or []],
            body=row.response_body or b"",
        )
    lost = row.state == DONE and response is None and row.created_at <= now - in_flight_timeout
    return ExistingKey(fingerprint=row.fingerprint, response=response, answer_lost=lost)


async def _live_row(
    session: AsyncSession, scope: str, key: str, abandon_after: timedelta
) -> tuple[IdempotencyKey | None, bool]:
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )
    return row, row is not None and _is_live(row, utcnow(), abandon_after)


async def _claim_once(
    db: Database, scope: str, key: str, fingerprint: str, ttl: timedelta, abandon_after: timedelta
) -> uuid.UUID | ExistingKey:
    # Retries and duplicates find a live row without taking SQLite's write lock.
    async with _store_session(db, readonly=True) as session:
        row, live = await _live_row(session, scope, key, abandon_after)
    if row is not None and live:
        return _existing(row, utcnow(), abandon_after)
    async with _store_session(db) as session, session.begin():
        row, live = await _live_row(session, scope, key, abandon_after)
        if row is not None and live:
            return _existing(row, utcnow(), abandon_after)
        if row is not None:
            # Expired or abandoned: absent as far as the client is concerned. A concurrent
            # replacer may delete it first; then our insert meets its row and we read again.
            # Only as read: a run that completes the key meanwhile (its effect committed,
            # see _complete_with_the_effect) keeps it, and our insert then meets its row.
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.id == row.id, IdempotencyKey.state == row.state
                )
            )
        now = utcnow()
        claimed = IdempotencyKey(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            state=IN_FLIGHT,
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(claimed)
    return claimed.id


async def claim(
    db: Database,
    scope: str,
    key: str,
    fingerprint: str,
    *,
    ttl: timedelta = KEY_TTL,
    in_flight_timeout: timedelta = IN_FLIGHT_TIMEOUT,
) -> uuid.UUID | ExistingKey:
    """Claim ``key`` in ``scope`` for one run of a request: the new row's id when this
    caller may run it, else the live row another request holds. The claim commits before
    the caller runs; of two concurrent claims the unique (scope, key) admits one."""
    scope = stored_scope(scope)
    for attempt in range(_CLAIM_ATTEMPTS):
        try:
            return await _claim_once(db, scope, key, fingerprint, ttl, in_flight_timeout)
        except IntegrityError:
            # Another request inserted the same key between our read and our insert;
            # read again to answer with its row.
            if attempt == _CLAIM_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_TAKEN_OVER = (
    "This request ran past the in-flight timeout and a retry with the same Idempotency-Key "
    "took it over; retry to get that request's answer."
)


async def complete(db: Database, claim_id: uuid.UUID, response: StoredResponse) -> None:
    """Keep the response of the run that held ``claim_id`` for replays."""
    values: dict[str, Any] = {
        "state": DONE,
        "response_status": response.status,
        "response_headers": [[name, value] for name, value in response.headers],
        "response_body": response.body,
    }
    async with _store_session(db) as session, session.begin():
        result = await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.id == claim_id).values(**values)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise ClaimTakenOver(_TAKEN_OVER)


async def release(db: Database, claim_id: uuid.UUID) -> None:
    """Forget the claim so that the client's retry runs the request again."""
    async with _store_session(db) as session, session.begin():
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))


def _store_session(db: Database, *, readonly: bool = False) -> AsyncSession:
    """A session of the key store itself: its writes are never a request's effect."""
    session = db.system_session(readonly=readonly)
    session.info[_STORE] = True
    return session


@dataclass
class RunningClaim:
    """The claim of the request running in this context. Until its answer is settled,
    every transaction of the request that writes also marks the key done, in that same
    transaction (see ``_complete_with_the_effect``)."""

    id: uuid.UUID
    settled: bool = False


_running: ContextVar[RunningClaim | None] = ContextVar("servio_idempotency_claim", default=None)
_STORE = "idempotency_store"
_WROTE = "idempotency_wrote"


@contextmanager
def running(claim: RunningClaim) -> Iterator[RunningClaim]:
    """Tie the writes of the code run in this block (one request) to ``claim``."""
    token = _running.set(claim)
    try:
        yield claim
    finally:
        _running.reset(token)


@event.listens_for(TenantSession, "do_orm_execute")
def _note_statement_write(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(TenantSession, "after_flush")
def _note_flush_write(session: Session, _context: object) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


@event.listens_for(TenantSession, "before_commit")
def _complete_with_the_effect(session: Session) -> None:
    """Mark the running request's key done in the transaction that commits its writes.

    A process that stops after this commit and before the answer is stored thus leaves a
    done key without an answer, which is never run again (``IdempotencyAnswerLost``)
    rather than an in-flight claim a retry would take over once abandoned. If a retry
    already took the claim over (this run outlived the in-flight timeout), the commit
    fails and the writes are undone, so the key's one run is the retry's."""
    claim = _running.get()
    if claim is None or claim.settled or session.info.get(_STORE):
        return
    session.flush()
    if not session.info.get(_WROTE):
        return
    marked = session.connection().execute(
        update(IdempotencyKey).where(IdempotencyKey.id == claim.id).values(state=DONE)
    )
    if marked.rowcount != 1:
        raise ClaimTakenOver(_TAKEN_OVER)


@event.listens_for(TenantSession, "after_transaction_end")
def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


async def prune_expired(db: Database, *, now: datetime | None = None) -> int:
    """Delete every key past its expiry; returns how many went (a retention job)."""
    cutoff = now or utcnow()
    async with _store_session(db) as session, session.begin():
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= cutoff)
        )
    return int(getattr(result, "rowcount", 0) or 0)
