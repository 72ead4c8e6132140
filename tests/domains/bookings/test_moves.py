"""The booking's one table of status changes: every move bumps the version, a status
outside the table is refused, a finished booking never changes, and each staff action
accepts only statuses the table lets it leave."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from servio.domains.bookings import moves
from servio.domains.bookings.models import Booking, BookingStatus

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
FINISHED = (BookingStatus.CANCELLED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def _booking(status: BookingStatus, version: int = 3) -> Booking:
    return Booking(id=uuid.uuid4(), status=status, version=version, updated_at=None)


@pytest.mark.parametrize("start", list(BookingStatus))
@pytest.mark.parametrize("to", list(BookingStatus))
def test_a_move_follows_the_table_and_bumps_the_version(
    start: BookingStatus, to: BookingStatus
) -> None:
    b = _booking(start)
    if to in moves.TRANSITIONS[start]:
        moves.move(b, to, NOW)
        assert (b.status, b.version, b.updated_at) == (to, 4, NOW)
    else:
        with pytest.raises(moves.IllegalBookingMove):
            moves.move(b, to, NOW)
        assert b.status == start
        assert b.version == 3
        assert b.updated_at is None


def test_a_finished_booking_never_changes_and_a_lapsed_one_only_comes_back() -> None:
    assert all(moves.TRANSITIONS[s] == frozenset() for s in FINISHED)
    assert moves.TRANSITIONS[BookingStatus.EXPIRED] == {
        BookingStatus.EXPIRED,
        BookingStatus.PENDING,
        BookingStatus.CONFIRMED,
    }


@pytest.mark.parametrize("action", sorted(moves.MOVES))
def test_each_staff_action_stays_inside_the_table(action: str) -> None:
    for status in moves.MOVES[action]:
        to = moves.RESULT.get(action, status)  # a reschedule keeps the status
        assert to in moves.TRANSITIONS[status], (action, status)


def test_a_stale_version_is_412_before_the_status_is_looked_at() -> None:
    b = _booking(BookingStatus.CANCELLED, version=5)
    with pytest.raises(moves.StaleVersion) as stale:
        moves.check(b, "confirm", 4)
    assert stale.value.extra == {"version": 5}
    with pytest.raises(moves.IllegalBookingMove) as illegal:
        moves.check(b, "confirm", 5)
    assert illegal.value.extra == {"status": "CANCELLED"}
    moves.check(_booking(BookingStatus.PENDING), "confirm", None)
