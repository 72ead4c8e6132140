"""Sign-in throttling: failures counted per account and per client address.

Five failures for an account within 15 minutes lock it for a minute, doubling with each
further failure up to an hour; an address gets four times the allowance (an office
behind one NAT). A success clears the account's count. Unknown emails are counted the
same way as known ones, so lockout reveals nothing about which accounts exist.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity.models import LoginThrottle
from servio.platform.db import Database, utcnow
from servio.platform.db.conflicts import conflict_insert
from servio.platform.errors import DomainError

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)


class TooManyAttempts(DomainError):
    status = 429
    type = "too-many-attempts"
    title = "Too many failed sign-ins"
    description = "Sign-in is paused for this account or address; retry after Retry-After seconds."


def _keys(email: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(f"account:{email}", ACCOUNT_LIMIT)]
    if ip:
        keys.append((f"ip:{ip}", ADDRESS_LIMIT))
    return keys


def _refuse(until: datetime, now: datetime) -> TooManyAttempts:
    wait = max(1, math.ceil((until - now).total_seconds()))
    return TooManyAttempts(
        f"Too many failed sign-ins; try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
        extra={"retry_after": wait},
    )


async def check(db: Database, email: str, ip: str | None) -> None:
    """Refuse with 429 while the account or the address is locked."""
    now = utcnow()
    async with db.unit_of_work(system=True) as s:
        for key, _limit in _keys(email, ip):
            row = await s.get(LoginThrottle, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                raise _refuse(row.locked_until, now)


async def _fail_one(s: AsyncSession, key: str, limit: int, now: datetime) -> None:
    await s.execute(
        conflict_insert(s, LoginThrottle)
        .values(key=key, failures=0, window_started_at=now, lock_level=0)
        .on_conflict_do_nothing()
    )
    row = await s.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    if now - row.window_started_at > WINDOW and (
        row.locked_until is None or row.locked_until <= now
    ):
        row.failures, row.window_started_at, row.lock_level = 0, now, 0
    row.failures += 1
    if row.failures >= limit:
        lock = min(FIRST_LOCK * (2**row.lock_level), MAX_LOCK)
        row.lock_level += 1
        row.locked_until = now + lock
        row.window_started_at = now


async def record_failure(db: Database, email: str, ip: str | None) -> None:
    now = utcnow()
    async with db.unit_of_work(system=True) as s:
        for key, limit in _keys(email, ip):
            await _fail_one(s, key, limit, now)


async def record_success(db: Database, email: str) -> None:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(LoginThrottle, f"account:{email}")
        if row is not None:
            await s.delete(row)
