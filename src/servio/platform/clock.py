"""The one clock. Every "now" the product reads comes from here: services, jobs, seeders,
pages and tokens call ``utcnow()``, which asks the clock the process runs with.

Production runs on ``SystemClock``. Tests and a reproducible demo install a
``PinnedClock`` (``SERVIO_CLOCK_START``): it starts at a chosen instant and then moves
forward at the wall clock's pace, so timeouts, expiries and backoff still elapse.
Rate-limit windows and log timestamps measure the process itself, not business time,
and keep the system's clocks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class PinnedClock:
    """Starts at ``start`` and ticks at the wall clock's pace (``tick=False``: stands
    still until moved). ``advance`` and ``set`` move it for a test."""

    def __init__(self, start: datetime, *, tick: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("a pinned clock needs a timezone-aware instant")
        self.origin = self._start = start.astimezone(UTC)
        self._tick = tick
        self._since = time.monotonic()

    def now(self) -> datetime:
        if not self._tick:
            return self._start
        return self._start + timedelta(seconds=time.monotonic() - self._since)

    def set(self, instant: datetime) -> None:
        self._start, self._since = instant.astimezone(UTC), time.monotonic()

    def advance(self, by: timedelta) -> None:
        self.set(self.now() + by)

    def __repr__(self) -> str:
        return f"PinnedClock({self._start.isoformat()}, tick={self._tick})"


_clock: Clock = SystemClock()


def current_clock() -> Clock:
    return _clock


def install_clock(clock: Clock) -> Clock:
    """Make ``clock`` the process's clock; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def pin_clock(start: datetime) -> Clock:
    """Run the process on a ticking clock that started at ``start`` (the one already
    running when it started there: a second call does not turn time back)."""
    if isinstance(_clock, PinnedClock) and _clock.origin == start.astimezone(UTC):
        return _clock
    install_clock(PinnedClock(start))
    return _clock


def utcnow() -> datetime:
    """Now, as the process's clock tells it (timezone-aware UTC)."""
    return _clock.now()


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with its offset (``Z`` allowed); a naive time is refused."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return parsed.astimezone(UTC)
