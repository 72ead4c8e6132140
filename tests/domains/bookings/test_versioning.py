"""Optimistic locking through the mapper's ``version_id_col``: a write made from a row
read before another writer moved its version fails instead of overwriting that change,
on both databases."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from servio.domains.bookings.models import Booking
from servio.platform.db import Database
from tests.support.bookings import booking_body, business


async def _write_after_another_writer(db: Database, booking_id: uuid.UUID) -> None:
    async with db.unit_of_work(system=True) as s:
        b = await s.scalar(select(Booking).where(Booking.id == booking_id))
        assert b is not None
        assert b.version == 1
        # Another writer moves the row on meanwhile (bypassing this session's copy).
        await s.execute(
            update(Booking).where(Booking.id == booking_id).values(version=2, name="Other"),
            execution_options={"synchronize_session": False},
        )
        b.name = "Mine"
        await s.flush()


async def test_a_write_from_a_stale_read_is_refused(api: httpx.AsyncClient, db: Database) -> None:
    owner, start = await business(api, db)
    made = await api.post(f"/v1/bookings?org={owner.org_slug}", json=booking_body(start))
    assert made.status_code == 201, made.text
    booking_id = uuid.UUID(made.json()["id"])
    with pytest.raises(StaleDataError):
        await _write_after_another_writer(db, booking_id)
    async with db.unit_of_work(system=True) as s:
        b = await s.scalar(select(Booking).where(Booking.id == booking_id))
        assert b is not None
        assert (b.version, b.name) == (1, "Jo Doe")  # the whole unit was rolled back
