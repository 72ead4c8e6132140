"""The cleaning estimator, line by line: every number of the breakdown, the boundaries of
the team-size and heavy-grease tables, on-site time rounded up (never to nearest), add-on
lines (zero and negative quantities, flat and per-unit) and what needs a custom quote."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import pytest

from servio.domains.catalog.estimator import (
    AddOnLine,
    CleaningRequest,
    Estimate,
    UnknownOption,
    _cents,
    base_hours,
    estimate,
)
from servio.domains.catalog.pricing import Vertical, load_text, parse
from servio.domains.catalog.service import Catalog


@cache
def cleaning() -> Vertical:
    return Catalog().vertical("cleaning", {})


def overridden(overrides: dict[str, Any]) -> Vertical:
    raw = load_text(resources.files("servio.verticals").joinpath("cleaning.toml").read_text())
    return parse(raw, overrides)


def quote(vertical: Vertical | None = None, tax_rate_bps: int = 0, **fields: Any) -> Estimate:
    request = CleaningRequest(**{"baths": Decimal(1), **fields})
    return estimate(vertical or cleaning(), request, tax_rate_bps=tax_rate_bps)


def hours_and_team(e: Estimate) -> tuple[Decimal, int, Decimal, Decimal]:
    return (e.cleaner_hours, e.team_size, e.time_on_site_hours, e.billed_hours)


def test_a_whole_breakdown_with_every_field() -> None:
    e = quote(beds=2, frequency="weekly", add_ons={"oven": 1}, tax_rate_bps=500)
    assert e == Estimate(
        pricing_version="cleaning-2026.1",
        currency="CAD",
        needs_custom_quote=False,
        reason=None,
        cleaner_hours=Decimal("3.0"),
        team_size=1,
        time_on_site_hours=Decimal("3.0"),
        billed_hours=Decimal("3.0"),
        labour_cents=105_00,
        discount_cents=10_50,
        add_ons_cents=30_00,
        subtotal_cents=124_50,  # the discount is on labour only, add-ons come after it
        tax_cents=6_23,  # 6.225 rounds half up
        total_cents=130_73,
        add_on_lines=(AddOnLine("oven", 1, 30_00, 30_00),),
    )


def test_no_tax_rate_means_no_tax() -> None:
    e = estimate(cleaning(), CleaningRequest(beds=2, baths=Decimal(1)))
    assert (e.subtotal_cents, e.tax_cents, e.total_cents) == (105_00, 0, 105_00)


def test_on_site_time_rounds_up_to_the_half_hour_not_to_the_nearest() -> None:
    # 4.0 h x 1.35 = 5.4 cleaner-hours for a team of 2: 2.7 h on site, billed as 3.0 h each.
    e = quote(beds=3, baths=Decimal(2), cleaning_type="move_out_empty")
    assert hours_and_team(e) == (Decimal("5.4"), 2, Decimal("3.0"), Decimal("6.0"))
    assert e.labour_cents == 6 * 35_00
    # 4.0 h x 1.2 = 4.8 for two: 2.4 h rounds up to 2.5.
    deep = quote(beds=3, baths=Decimal(2), cleaning_type="deep")
    assert hours_and_team(deep) == (Decimal("4.8"), 2, Decimal("2.5"), Decimal("5.0"))
    assert deep.labour_cents == 175_00


def test_a_whole_number_of_steps_is_not_rounded_further() -> None:
    e = quote(beds=4, baths=Decimal(3))  # 5.0 h for two: exactly 2.5 h each
    assert hours_and_team(e) == (Decimal("5.0"), 2, Decimal("2.5"), Decimal("5.0"))


def test_a_coarser_rounding_step_from_the_org() -> None:
    hourly = overridden({"pricing.round_on_site_to_hours": "1.0"})
    e = quote(hourly, beds=3, baths=Decimal(2), cleaning_type="deep")  # 2.4 h → 3.0 h
    assert hours_and_team(e) == (Decimal("4.8"), 2, Decimal("3.0"), Decimal("6.0"))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # 4.5 cleaner-hours is still one cleaner's day (the row's max is inclusive).
        ({"beds": 3, "baths": Decimal(3)}, (Decimal("4.5"), 1, Decimal("4.5"), Decimal("4.5"))),
        ({"beds": 4, "baths": Decimal(2)}, (Decimal("4.5"), 1, Decimal("4.5"), Decimal("4.5"))),
        # 8.0 (6.5 + 1.5 grease) is still a team of two; 8.5 is three.
        (
            {"beds": 6, "baths": Decimal(4), "heavy_grease": True},
            (Decimal("8.0"), 2, Decimal("4.0"), Decimal("8.0")),
        ),
        (
            {"beds": 6, "baths": Decimal(4), "heavy_grease": True, "multi_floor": True},
            (Decimal("8.5"), 3, Decimal("3.0"), Decimal("9.0")),
        ),
    ],
)
def test_team_size_boundaries(fields: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert hours_and_team(quote(**fields)) == expected


def test_just_over_a_team_boundary_takes_the_next_team() -> None:
    finer = overridden({"pricing.min_cleaner_hours": "4.6"})
    e = quote(finer, beds=1)  # 2.5 h lifted to 4.6 h: two cleaners, 2.3 h → 2.5 h each
    assert hours_and_team(e) == (Decimal("4.6"), 2, Decimal("2.5"), Decimal("5.0"))


@pytest.mark.parametrize(
    ("beds", "baths", "hours"),
    [
        (2, 1, Decimal("3.5")),  # 3.0 + 0.5 (up to 2 bedrooms)
        (3, 2, Decimal("5.0")),  # 4.0 + 1.0 (3 to 4 bedrooms)
        (4, 2, Decimal("5.5")),  # 4.5 + 1.0
        (5, 3, Decimal("7.0")),  # 5.5 + 1.5 (5 and more)
    ],
)
def test_heavy_grease_by_bedrooms(beds: int, baths: int, hours: Decimal) -> None:
    assert quote(beds=beds, baths=Decimal(baths), heavy_grease=True).cleaner_hours == hours


def test_extras_add_nothing_unless_asked_and_the_minimum_lifts_small_jobs() -> None:
    assert quote(beds=2).cleaner_hours == Decimal("3.0")
    assert quote(beds=2, multi_floor=True).cleaner_hours == Decimal("3.5")
    assert quote(beds=2, multi_floor=True, heavy_grease=True).cleaner_hours == Decimal("4.0")
    assert quote(beds=1).cleaner_hours == Decimal("3.0")  # 2.5 h lifted to the minimum
    assert quote(beds=1, heavy_grease=True, multi_floor=True).cleaner_hours == Decimal("3.5")


def test_frequency_discounts_round_half_up_on_labour() -> None:
    e = quote(beds=3, baths=Decimal(3), frequency="biweekly")  # 157.50 x 5 % = 7.875
    assert (e.labour_cents, e.discount_cents, e.subtotal_cents) == (157_50, 7_88, 149_62)
    monthly = quote(beds=2, frequency="monthly")
    assert (monthly.discount_cents, monthly.subtotal_cents) == (0, 105_00)


def test_tax_rounds_half_up_once_on_the_subtotal() -> None:
    e = quote(beds=2, frequency="weekly", tax_rate_bps=500)  # 94.50 x 5 % = 4.725
    assert (e.subtotal_cents, e.tax_cents, e.total_cents) == (94_50, 4_73, 99_23)


def test_cents_round_half_up() -> None:
    assert [_cents(Decimal(x)) for x in ("2.5", "2.4999", "3.5", "-0.4")] == [3, 2, 4, 0]


def test_add_on_lines_flat_per_unit_zero_and_negative() -> None:
    e = quote(
        beds=2,
        add_ons={"oven": 3, "linen_beds": 2, "carpet_spot": 0, "fridge": -1, "balcony": 1},
    )
    # Sorted by name; a flat add-on is charged once whatever the quantity; zero and
    # negative quantities are left out (not charged, not refused).
    assert e.add_on_lines == (
        AddOnLine("balcony", 1, 25_00, 25_00),
        AddOnLine("linen_beds", 2, 10_00, 20_00),
        AddOnLine("oven", 1, 30_00, 30_00),
    )
    assert e.add_ons_cents == 75_00
    assert e.subtotal_cents == 105_00 + 75_00


def test_only_zero_quantities_add_nothing() -> None:
    e = quote(beds=2, add_ons={"oven": 0, "aaa_unknown": 0})
    assert (e.add_on_lines, e.add_ons_cents, e.subtotal_cents) == ((), 0, 105_00)


def test_unknown_options_name_their_field() -> None:
    with pytest.raises(UnknownOption) as addon:
        quote(beds=2, add_ons={"sauna": 1})
    assert (str(addon.value.detail), addon.value.extra) == (
        "No add-on called 'sauna'.",
        {"field": "add_ons"},
    )
    with pytest.raises(UnknownOption) as kind:
        quote(beds=2, cleaning_type="spotless")
    assert (kind.value.detail, kind.value.extra) == (
        "No cleaning type 'spotless'.",
        {"field": "cleaning_type"},
    )
    with pytest.raises(UnknownOption) as often:
        quote(beds=2, frequency="daily")
    assert (often.value.detail, often.value.extra) == (
        "No frequency 'daily'.",
        {"field": "frequency"},
    )


def test_beyond_the_table_is_a_custom_quote_with_nothing_priced() -> None:
    e = quote(beds=7, baths=Decimal(2), add_ons={"oven": 1})
    assert e == Estimate(
        "cleaning-2026.1",
        "CAD",
        needs_custom_quote=True,
        reason="7 bedrooms and 2 bathrooms is beyond the price list.",
    )


def test_the_orgs_limits_ask_for_a_custom_quote_even_inside_the_table() -> None:
    small = overridden({"pricing.max_beds": 2, "pricing.max_baths": 1})
    assert not quote(small, beds=2).needs_custom_quote
    assert quote(small, beds=3).needs_custom_quote
    half = quote(small, beds=2, baths=Decimal("1.5"))  # a half bath counts as a bath
    assert half.needs_custom_quote
    assert half.reason == "2 bedrooms and 2 bathrooms is beyond the price list."


def test_base_hours_take_the_cheapest_row_at_least_as_large_in_both() -> None:
    p = cleaning().pricing
    assert base_hours(p, 2, 1) == Decimal("3.0")
    assert base_hours(p, 1, 2) == Decimal("3.5")
    assert base_hours(p, 3, 1) == Decimal("4.0")
    assert base_hours(p, 6, 4) == Decimal("6.5")
    assert base_hours(p, 6, 5) is None
    assert base_hours(p, 7, 1) is None
    rows = [
        {"beds": 3, "baths": 3, "hours": "5.0"},
        {"beds": 2, "baths": 2, "hours": "3.5"},
        {"beds": 9, "baths": 9, "hours": "9.0"},
    ]
    unsorted = overridden({"pricing.base_hours": rows}).pricing
    assert base_hours(unsorted, 1, 1) == Decimal("3.5")  # not merely the first that fits
    assert base_hours(unsorted, 3, 2) == Decimal("5.0")
