"""The deposit policy at its edges: notice of exactly 24 h and 48 h, a subtotal of exactly
the high-value mark, every reason at once and in order, an unsorted notice list, a
policy without the new-client rule, and the share's rounding and clamps."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from servio.domains.bookings.deposit import BookingFacts, DepositDecision, decide
from servio.domains.catalog.pricing import DepositPolicy
from servio.domains.catalog.service import Catalog

TZ = ZoneInfo("America/Edmonton")
WEDNESDAY = datetime(2027, 6, 2, 10, tzinfo=TZ)
SATURDAY = datetime(2027, 6, 5, 10, tzinfo=TZ)
POLICY = Catalog().vertical("cleaning", {}).deposit


def facts(**changes: object) -> BookingFacts:
    base: dict[str, object] = {
        "subtotal_cents": 105_00,
        "cleaning_type": "standard",
        "local_start": WEDNESDAY,
        "now": WEDNESDAY - timedelta(days=7),
        "first_time_client": False,
    }
    return BookingFacts(**(base | changes))  # type: ignore[arg-type]


def reasons(**changes: object) -> tuple[str, ...]:
    return decide(POLICY, facts(**changes)).reasons


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (timedelta(hours=24) - timedelta(seconds=1), ("short_notice_24h",)),
        (timedelta(hours=24), ("short_notice_48h",)),  # exactly 24 h is not under 24 h
        (timedelta(hours=48) - timedelta(seconds=1), ("short_notice_48h",)),
        (timedelta(hours=48), ()),
    ],
)
def test_notice_boundaries(notice: timedelta, expected: tuple[str, ...]) -> None:
    assert reasons(now=WEDNESDAY - notice) == expected


def test_the_tightest_notice_wins_whatever_order_the_policy_lists_them() -> None:
    unsorted = POLICY.model_copy(update={"short_notice_hours": [48, 24]})
    got = decide(unsorted, facts(now=WEDNESDAY - timedelta(hours=10)))
    assert got.reasons == ("short_notice_24h",)


def test_high_value_starts_at_the_mark() -> None:
    assert reasons(subtotal_cents=300_00) == ("high_value",)
    assert reasons(subtotal_cents=299_99) == ()
    assert reasons(subtotal_cents=None) == ()


def test_weekend_is_local_saturday_and_sunday() -> None:
    assert reasons(local_start=SATURDAY) == ("weekend",)
    assert reasons(local_start=SATURDAY + timedelta(days=1)) == ("weekend",)
    assert reasons(local_start=SATURDAY + timedelta(days=2)) == ()  # Monday
    assert reasons(local_start=SATURDAY - timedelta(days=1)) == ()  # Friday


def test_every_reason_at_once_in_the_policys_order() -> None:
    got = decide(
        POLICY,
        facts(
            first_time_client=True,
            cleaning_type="deep",
            local_start=SATURDAY,
            now=SATURDAY - timedelta(hours=1),
            subtotal_cents=400_00,
            risk=True,
        ),
    )
    assert got == DepositDecision(
        True,
        100_00,
        ("new_client", "heavy_cleaning", "weekend", "short_notice_24h", "high_value", "risk"),
    )


def test_a_policy_without_the_new_client_rule() -> None:
    relaxed = POLICY.model_copy(update={"new_client": False})
    assert decide(relaxed, facts(first_time_client=True)) == DepositDecision(False, 0, ())
    assert decide(POLICY, facts(first_time_client=True)).reasons == ("new_client",)


def test_an_unknown_cleaning_type_is_not_heavy() -> None:
    assert reasons(cleaning_type=None) == ()
    assert reasons(cleaning_type="standard") == ()


def test_share_rounding_and_clamps() -> None:
    policy = DepositPolicy(
        percent_bps=2500,
        min_cents=10_00,
        max_cents=60_00,
        high_value_cents=1_000_00,
        new_client=True,
    )

    def amount(subtotal: int | None) -> int:
        got = decide(policy, facts(first_time_client=True, subtotal_cents=subtotal))
        assert got.required
        return got.amount_cents

    assert amount(100_01) == 25_01  # 25.0025 rounds up
    assert amount(100_00) == 25_00  # an exact share is not rounded further
    assert amount(39_99) == 10_00  # 10.00 (9.9975 rounded up) is the minimum
    assert amount(36_00) == 10_00  # the minimum lifts 9.00
    assert amount(240_00) == 60_00  # exactly the maximum
    assert amount(240_04) == 60_00  # 60.01 is clamped
    assert amount(None) == 10_00  # no estimate: the minimum
