"""How a booking's status may change: the one table every change follows, by staff or
by the system, what each staff action accepts, and the check of the version a client
read (If-Match). Pure: no database, no clock."""

from __future__ import annotations

from datetime import datetime

from servio.domains.bookings.models import Booking, BookingStatus
from servio.platform.errors import Conflict, DomainError

# Every change of a booking, by staff or by the system, goes through ``move`` and this
# table. Staying in a status is a change too (a reschedule, a deposit lifting a hold).
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset(
        {
            BookingStatus.PENDING,
            BookingStatus.CONFIRMED,
            BookingStatus.CANCELLED,
            BookingStatus.EXPIRED,
        }
    ),
    BookingStatus.CONFIRMED: frozenset(
        {
            BookingStatus.CONFIRMED,
            BookingStatus.CANCELLED,
            BookingStatus.COMPLETED,
            BookingStatus.NO_SHOW,
        }
    ),
    # A deposit paid after its hold lapsed takes the time again when it is still free.
    BookingStatus.EXPIRED: frozenset(
        {BookingStatus.EXPIRED, BookingStatus.PENDING, BookingStatus.CONFIRMED}
    ),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}
# What each staff action accepts (a subset of the table above).
MOVES: dict[str, frozenset[BookingStatus]] = {
    "confirm": frozenset({BookingStatus.PENDING}),
    "cancel": frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED}),
    "complete": frozenset({BookingStatus.CONFIRMED}),
    "no_show": frozenset({BookingStatus.CONFIRMED}),
    "reschedule": frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED}),
}
RESULT = {
    "confirm": BookingStatus.CONFIRMED,
    "cancel": BookingStatus.CANCELLED,
    "complete": BookingStatus.COMPLETED,
    "no_show": BookingStatus.NO_SHOW,
}


class StaleVersion(DomainError):
    status = 412
    type = "stale-version"
    title = "The booking changed since you read it"
    description = "Reload the booking and retry with its current ETag in If-Match."


class IllegalBookingMove(Conflict):
    type = "illegal-booking-move"
    title = "The booking cannot do that in its current status"


def move(b: Booking, to: BookingStatus, now: datetime) -> None:
    """The one way a booking changes: along ``TRANSITIONS``, with a new version (its
    ETag; the mapper's ``version_id_col`` makes the write fail if another got there
    first)."""
    if to not in TRANSITIONS[BookingStatus(b.status)]:
        raise IllegalBookingMove(
            f"A {b.status} booking cannot become {to}.", extra={"status": b.status}
        )
    b.status, b.version, b.updated_at = to, b.version + 1, now


def check(b: Booking, action: str, if_match: int | None) -> None:
    """A staff action on the booking as the client read it: 412 when its version moved
    since, 409 when its status does not accept the action."""
    if if_match is not None and if_match != b.version:
        raise StaleVersion(
            f"The booking is at version {b.version}, not {if_match}.", extra={"version": b.version}
        )
    if b.status not in MOVES[action]:
        raise IllegalBookingMove(
            f"A {b.status} booking cannot {action.replace('_', ' ')}.", extra={"status": b.status}
        )
