"""The one clock: a pinned clock starts where it is told and ticks on; the container
installs it from ``SERVIO_CLOCK_START``; tokens are dated and checked by it; and no
module reads the wall clock behind its back."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from servio.app.container import Container
from servio.platform.clock import (
    PinnedClock,
    SystemClock,
    current_clock,
    install_clock,
    parse_instant,
    utcnow,
)
from servio.platform.config import Settings, production_problems
from servio.platform.security.tokens import InvalidToken, KeyRing

FAR = datetime(2031, 2, 28, 23, 30, tzinfo=UTC)


@pytest.fixture
def restore_clock() -> Iterator[None]:
    previous = current_clock()
    yield
    install_clock(previous)


def test_a_pinned_clock_starts_where_told_and_ticks_on() -> None:
    clock = PinnedClock(FAR)
    first = clock.now()
    assert FAR <= first < FAR + timedelta(seconds=1)
    time.sleep(0.01)
    assert clock.now() > first
    clock.advance(timedelta(days=1))
    assert clock.now() - FAR >= timedelta(days=1)
    still = PinnedClock(FAR, tick=False)
    time.sleep(0.01)
    assert still.now() == FAR
    with pytest.raises(ValueError, match="timezone-aware"):
        PinnedClock(datetime(2031, 1, 1))  # noqa: DTZ001 - the naive time it refuses


def test_instants_need_an_offset() -> None:
    assert parse_instant("2027-11-07T08:30:00Z") == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)
    assert parse_instant("2027-11-07T01:30:00-07:00").hour == 8
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_instant("2027-11-07T08:30:00")


def test_the_container_installs_the_configured_clock(restore_clock: None, tmp_path: Path) -> None:
    install_clock(SystemClock())
    settings = Settings(env="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db")
    assert isinstance(Container.from_settings(settings).clock, SystemClock)
    pinned = Settings(
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db",
        clock_start="2031-02-28T23:30:00Z",  # type: ignore[arg-type]
    )
    container = Container.from_settings(pinned)
    assert container.clock is current_clock()
    assert FAR <= utcnow() < FAR + timedelta(minutes=1)


def test_production_refuses_a_pinned_clock() -> None:
    settings = Settings(env="test", clock_start=FAR)
    assert "SERVIO_CLOCK_START pins the clock (dev/test only)" in production_problems(settings)


def test_tokens_are_dated_and_checked_by_the_process_clock(restore_clock: None) -> None:
    """Far from the machine's time, a token issued now is valid now, and expired once
    the clock has moved past its lifetime."""
    clock = PinnedClock(FAR, tick=False)
    install_clock(clock)
    ring = KeyRing.from_settings([], "a-secret-key-of-thirty-two-characters!")
    token = ring.issue({"sub": "u1"}, timedelta(minutes=15), "access")
    assert ring.verify(token, "access")["iat"] == int(FAR.timestamp())
    clock.set(FAR - timedelta(minutes=1))
    with pytest.raises(InvalidToken, match="not valid yet"):
        ring.verify(token, "access")
    clock.set(FAR + timedelta(minutes=15))
    with pytest.raises(InvalidToken, match="expired"):
        ring.verify(token, "access")


# Process time, not business time: rate-limit windows, log lines, metrics' start, and a
# provider's own clock (the test checkout and go-live checks sign as Stripe and Meta do).
WALL_CLOCK_ALLOWED = {
    "platform/clock.py",
    "platform/ratelimit.py",
    "platform/logging.py",
    "platform/metrics.py",
    "integrations/stripe_dev.py",
    "golive.py",
}
WALL_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(\)")


def test_nothing_reads_the_wall_clock_but_the_clock() -> None:
    """Neither the product nor its tests: a test reads the process clock (``utcnow``),
    which a pinned run moves, and asks the app for free times."""
    root = Path(__file__).resolve().parents[2]
    src = root / "src" / "servio"
    readers = [
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if WALL_CLOCK.search(path.read_text())
    ]
    assert sorted(set(readers) - WALL_CLOCK_ALLOWED) == []
    in_tests = [
        path.relative_to(root).as_posix()
        for path in (root / "tests").rglob("*.py")
        if WALL_CLOCK.search(path.read_text())
    ]
    assert in_tests == []
