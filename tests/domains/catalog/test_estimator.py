"""The cleaning estimator as a pure function: the seed's worked examples, sizes between
and beyond the table, and properties that hold for every request."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servio.domains.catalog.estimator import CleaningRequest, UnknownOption, base_hours, estimate
from servio.domains.catalog.pricing import InvalidPricing, Vertical, load_text, parse
from servio.domains.catalog.service import Catalog


@cache
def cleaning() -> Vertical:
    return Catalog().vertical("cleaning", {})


def price(**fields: object) -> int:
    request = CleaningRequest(**{"baths": Decimal(1), **fields})  # type: ignore[arg-type]
    return estimate(cleaning(), request).subtotal_cents


def test_worked_examples_of_the_seed() -> None:
    assert price(beds=2) == 105_00
    assert price(beds=2, frequency="weekly") == 94_50
    big = estimate(
        cleaning(), CleaningRequest(beds=6, baths=Decimal(4), cleaning_type="move_out_empty")
    )
    assert (big.team_size, big.time_on_site_hours, big.subtotal_cents) == (
        3,
        Decimal("3.0"),
        315_00,
    )
    extras = {"oven": 1, "fridge": 1, "linen_beds": 2, "steam_sofa_2": 1, "carpet_spot": 2}
    assert price(beds=2, add_ons=extras) == 335_00


def test_breakdown_and_tax() -> None:
    e = estimate(
        cleaning(), CleaningRequest(beds=2, baths=Decimal(1), frequency="weekly"), tax_rate_bps=500
    )
    assert (e.labour_cents, e.discount_cents, e.subtotal_cents) == (105_00, 10_50, 94_50)
    assert (e.tax_cents, e.total_cents) == (4_73, 99_23)  # 4.725 rounds half up
    assert e.pricing_version == "cleaning-2026.1"
    assert e.currency == "CAD"


def test_half_baths_round_up_and_sizes_take_the_next_row() -> None:
    assert price(beds=2, baths=Decimal("1.5")) == price(beds=2, baths=Decimal(2))
    assert base_hours(cleaning().pricing, 0, 1) == Decimal("2.5")
    assert base_hours(cleaning().pricing, 5, 2) == Decimal("5.5")  # (5,3) is the next row
    assert base_hours(cleaning().pricing, 4, 1) == Decimal("4.5")


def test_beyond_the_table_needs_a_custom_quote() -> None:
    e = estimate(cleaning(), CleaningRequest(beds=7, baths=Decimal(2)))
    assert e.needs_custom_quote
    assert e.total_cents == 0
    assert "beyond the price list" in (e.reason or "")


def test_minimum_hours_grease_and_floors() -> None:
    assert price(beds=1) == 105_00  # 2.5 h lifted to the 3.0 h minimum
    assert price(beds=2, heavy_grease=True) == 122_50  # 3.0 h + 0.5 h grease
    assert price(beds=2, multi_floor=True, heavy_grease=True) == 140_00  # + 0.5 h floors
    assert (
        price(beds=5, baths=Decimal(3), heavy_grease=True) == 245_00
    )  # 5.5 + 1.5 = 7.0 h: a team of 2, 3.5 h on site


def test_unknown_options_are_refused() -> None:
    with pytest.raises(UnknownOption, match="sauna"):
        price(beds=2, add_ons={"sauna": 1})
    with pytest.raises(UnknownOption, match="daily"):
        price(beds=2, frequency="daily")


def test_org_overrides_change_numbers_and_bad_ones_are_refused() -> None:
    raw = load_text(resources.files("servio.verticals").joinpath("cleaning.toml").read_text())
    dearer = parse(raw, {"pricing.hourly_rate_cents": 4000, "pricing.add_ons.flat.oven": 3500})
    e = estimate(dearer, CleaningRequest(beds=2, baths=Decimal(1), add_ons={"oven": 1}))
    assert e.subtotal_cents == 120_00 + 35_00
    with pytest.raises(InvalidPricing) as bad:
        parse(raw, {"pricing.hourly_rate_cents": -5})
    assert bad.value.extra["errors"][0]["field"] == "pricing.hourly_rate_cents"
    with pytest.raises(InvalidPricing, match="no pricing setting"):
        parse(raw, {"pricing.nonsense.rate": 1})


requests = st.builds(
    CleaningRequest,
    beds=st.integers(0, 6),
    baths=st.sampled_from([Decimal(x) / 2 for x in range(0, 9)]),
    cleaning_type=st.sampled_from(["standard", "deep", "move_out_empty", "move_in_empty"]),
    frequency=st.sampled_from(["one_time", "weekly", "biweekly", "monthly"]),
    heavy_grease=st.booleans(),
    multi_floor=st.booleans(),
    add_ons=st.dictionaries(
        st.sampled_from(["oven", "fridge", "linen_beds", "carpet_spot", "steam_mattress"]),
        st.integers(0, 5),
        max_size=4,
    ),
)


@settings(max_examples=300, deadline=None)
@given(requests)
def test_totals_are_never_negative_and_discount_never_exceeds_labour(r: CleaningRequest) -> None:
    e = estimate(cleaning(), r, tax_rate_bps=500)
    assert e.total_cents >= 0
    assert e.subtotal_cents >= 0
    assert 0 <= e.discount_cents <= e.labour_cents
    if not e.needs_custom_quote:
        assert e.subtotal_cents == e.labour_cents - e.discount_cents + e.add_ons_cents


@settings(max_examples=300, deadline=None)
@given(requests, st.integers(0, 5), st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)]))
def test_more_rooms_never_cost_less(
    r: CleaningRequest, more_beds: int, more_baths: Decimal
) -> None:
    bigger = CleaningRequest(
        **{**r.__dict__, "beds": r.beds + more_beds, "baths": r.baths + more_baths}
    )
    small, large = estimate(cleaning(), r), estimate(cleaning(), bigger)
    if not (small.needs_custom_quote or large.needs_custom_quote):
        assert large.subtotal_cents >= small.subtotal_cents
