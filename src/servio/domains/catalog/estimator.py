"""The cleaning estimator: a pure function of (vertical data, request) → breakdown.

Cleaner-hours = base hours for the size times the cleaning type's multiplier + extras, at
least the minimum; the team grows with the hours; time on site is hours divided by the team rounded
up to the half hour; labour is billed team-hours times the rate; a frequency discount
applies to labour only; add-ons are added after it; tax is the org's rate. All money is
integer cents, rounded half up once per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from servio.domains.catalog.pricing import Pricing, Vertical
from servio.platform.errors import DomainError


class UnknownOption(DomainError):
    status = 422
    type = "unknown-option"
    title = "An option is not offered"
    description = "A cleaning type, frequency or add-on the business does not offer."


@dataclass(frozen=True)
class CleaningRequest:
    beds: int
    baths: Decimal
    cleaning_type: str = "standard"
    frequency: str = "one_time"
    heavy_grease: bool = False
    multi_floor: bool = False
    add_ons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AddOnLine:
    name: str
    quantity: int
    unit_cents: int
    total_cents: int


@dataclass(frozen=True)
class Estimate:
    pricing_version: str
    currency: str
    needs_custom_quote: bool = False
    reason: str | None = None
    cleaner_hours: Decimal = Decimal(0)
    team_size: int = 0
    time_on_site_hours: Decimal = Decimal(0)
    billed_hours: Decimal = Decimal(0)
    labour_cents: int = 0
    discount_cents: int = 0
    add_ons_cents: int = 0
    subtotal_cents: int = 0
    tax_cents: int = 0
    total_cents: int = 0
    add_on_lines: tuple[AddOnLine, ...] = ()


def _cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def base_hours(p: Pricing, beds: int, baths: int) -> Decimal | None:
    """The smallest listed size at least as large in both; None beyond the table."""
    fits = [r for r in p.base_hours if r.beds >= beds and r.baths >= baths]
    if not fits:
        return None
    return min(fits, key=lambda r: (r.hours, r.beds, r.baths)).hours


def _grease(p: Pricing, beds: int) -> Decimal:
    return next(r.hours for r in p.heavy_grease if r.max_beds is None or beds <= r.max_beds)


def _team(p: Pricing, hours: Decimal) -> int:
    return next(r.team for r in p.team_sizes if r.max_hours is None or hours <= r.max_hours)


def _add_ons(p: Pricing, wanted: dict[str, int]) -> tuple[AddOnLine, ...]:
    lines = []
    for name, quantity in sorted(wanted.items()):
        if quantity <= 0:
            continue
        if name in p.add_ons.flat:
            lines.append(AddOnLine(name, 1, p.add_ons.flat[name], p.add_ons.flat[name]))
        elif name in p.add_ons.per_unit:
            unit = p.add_ons.per_unit[name]
            lines.append(AddOnLine(name, quantity, unit, unit * quantity))
        else:
            raise UnknownOption(f"No add-on called {name!r}.", extra={"field": "add_ons"})
    return tuple(lines)


def _check(p: Pricing, req: CleaningRequest) -> None:
    if req.cleaning_type not in p.cleaning_types:
        raise UnknownOption(
            f"No cleaning type {req.cleaning_type!r}.", extra={"field": "cleaning_type"}
        )
    if req.frequency not in p.frequency_discount_bps:
        raise UnknownOption(f"No frequency {req.frequency!r}.", extra={"field": "frequency"})


def estimate(vertical: Vertical, req: CleaningRequest, *, tax_rate_bps: int = 0) -> Estimate:
    p = vertical.pricing
    _check(p, req)
    lines = _add_ons(p, req.add_ons)
    baths = math.ceil(req.baths)  # a half bath rounds up
    base = base_hours(p, req.beds, baths)
    if base is None or req.beds > p.max_beds or baths > p.max_baths:
        return Estimate(
            vertical.version,
            vertical.currency,
            needs_custom_quote=True,
            reason=f"{req.beds} bedrooms and {baths} bathrooms is beyond the price list.",
        )
    extras = (_grease(p, req.beds) if req.heavy_grease else 0) + (
        p.multi_floor_hours if req.multi_floor else 0
    )
    hours = max(base * p.cleaning_types[req.cleaning_type] + extras, p.min_cleaner_hours)
    team = _team(p, hours)
    step = p.round_on_site_to_hours
    on_site = (hours / team / step).to_integral_value(rounding=ROUND_CEILING) * step
    billed = on_site * team
    labour = _cents(billed * p.hourly_rate_cents)
    discount = _cents(Decimal(labour) * p.frequency_discount_bps[req.frequency] / 10_000)
    add_ons = sum(line.total_cents for line in lines)
    subtotal = labour - discount + add_ons
    tax = _cents(Decimal(subtotal) * tax_rate_bps / 10_000)
    return Estimate(
        pricing_version=vertical.version,
        currency=vertical.currency,
        cleaner_hours=hours,
        team_size=team,
        time_on_site_hours=on_site,
        billed_hours=billed,
        labour_cents=labour,
        discount_cents=discount,
        add_ons_cents=add_ons,
        subtotal_cents=subtotal,
        tax_cents=tax,
        total_cents=subtotal + tax,
        add_on_lines=lines,
    )
