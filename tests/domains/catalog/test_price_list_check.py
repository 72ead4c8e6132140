"""The catalog answers the org settings' price-list check (identity's ``PriceLists``)."""

from __future__ import annotations

from servio.domains.catalog.service import Catalog
from servio.domains.identity import service as identity


def test_overrides_that_make_a_valid_list_give_the_deposit_and_scalar_prices() -> None:
    prices: identity.PriceLists = Catalog()
    found = prices.check_overrides("cleaning", {"pricing.hourly_rate_cents": 3900})
    assert found.valid
    assert found.pricing["hourly_rate_cents"] == 3900
    assert all(not isinstance(v, dict | list) for v in found.pricing.values())
    assert found.deposit is not None
    assert "percent_bps" in found.deposit


def test_an_unknown_vertical_says_it_has_no_price_list() -> None:
    found = Catalog().check_overrides("juggling", {})
    assert not found.valid
    assert found.missing == "No price list for the 'juggling' vertical."
    assert (found.deposit, found.pricing, found.errors) == (None, {}, ())


def test_a_bad_override_names_its_field() -> None:
    found = Catalog().check_overrides("cleaning", {"pricing.hourly_rate_cents": -1})
    assert not found.valid
    assert found.missing is None
    assert [e["field"] for e in found.errors] == ["pricing.hourly_rate_cents"]
