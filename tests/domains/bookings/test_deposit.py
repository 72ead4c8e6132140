"""Seed 000's deposit policy: each reason, the 25 % share rounded up, the clamps."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from servio.domains.bookings.deposit import BookingFacts, decide
from servio.domains.catalog.service import Catalog

TZ = ZoneInfo("America/Edmonton")
WEDNESDAY = datetime(2027, 6, 2, 10, tzinfo=TZ)
POLICY = Catalog().vertical("cleaning", {}).deposit


def facts(**changes: object) -> BookingFacts:
    base = {
        "subtotal_cents": 105_00,
        "cleaning_type": "standard",
        "local_start": WEDNESDAY,
        "now": WEDNESDAY - timedelta(days=7),
        "first_time_client": False,
        "risk": False,
    }
    return BookingFacts(**(base | changes))  # type: ignore[arg-type]


def test_a_returning_weekday_standard_clean_needs_no_deposit() -> None:
    d = decide(POLICY, facts())
    assert (d.required, d.amount_cents, d.reasons) == (False, 0, ())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"first_time_client": True}, "new_client"),
        ({"cleaning_type": "deep"}, "heavy_cleaning"),
        ({"cleaning_type": "move_out_empty"}, "heavy_cleaning"),
        ({"local_start": WEDNESDAY + timedelta(days=3)}, "weekend"),
        ({"now": WEDNESDAY - timedelta(hours=10)}, "short_notice_24h"),
        ({"now": WEDNESDAY - timedelta(hours=30)}, "short_notice_48h"),
        ({"subtotal_cents": 300_00}, "high_value"),
        ({"risk": True}, "risk"),
    ],
)
def test_each_reason(changes: dict[str, object], reason: str) -> None:
    d = decide(POLICY, facts(**changes))
    assert d.required
    assert d.reasons == (reason,)


def test_amount_is_a_quarter_rounded_up_and_clamped() -> None:
    assert decide(POLICY, facts(risk=True, subtotal_cents=105_00)).amount_cents == 50_00  # min
    assert (
        decide(POLICY, facts(risk=True, subtotal_cents=300_01)).amount_cents == 75_01
    )  # 75.0025 up
    assert decide(POLICY, facts(risk=True, subtotal_cents=2_000_00)).amount_cents == 200_00  # max
    assert (
        decide(POLICY, facts(risk=True, subtotal_cents=None)).amount_cents == 50_00
    )  # no estimate
