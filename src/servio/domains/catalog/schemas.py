"""What the estimate endpoints accept and return."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from servio.domains.catalog.estimator import Estimate


class EstimateIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",  # a client-sent total or price is ignored: the server prices
        json_schema_extra={
            "examples": [
                {
                    "beds": 2,
                    "baths": 1,
                    "cleaning_type": "standard",
                    "frequency": "weekly",
                    "add_ons": {"oven": 1, "carpet_spot": 2},
                }
            ]
        },
    )
    beds: int = Field(ge=0, le=10)
    baths: Decimal = Field(ge=0, le=10, multiple_of=0.5)
    cleaning_type: str = Field(default="standard", max_length=40)
    frequency: str = Field(default="one_time", max_length=40)
    heavy_grease: bool = False
    multi_floor: bool = False
    add_ons: dict[str, int] = Field(default_factory=dict, max_length=30)
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{3}$",
        description="ISO 4217 code the client expects; refused unless it is the business's",
    )

    @field_validator("add_ons", mode="before")
    @classmethod
    def _list_means_one_each(cls, value: object) -> object:
        if isinstance(value, list):
            return {str(name): 1 for name in value}
        return value

    @field_validator("add_ons")
    @classmethod
    def _quantities(cls, value: dict[str, int]) -> dict[str, int]:
        for name, quantity in value.items():
            if not 0 <= quantity <= 20:
                raise ValueError(f"{name}: quantity must be between 0 and 20")
        return value


class AddOnLineOut(BaseModel):
    name: str
    quantity: int
    unit_cents: int
    total_cents: int


class BreakdownLineOut(BaseModel):
    """One line of the price as a customer reads it; the lines add up to the total."""

    kind: Literal["labour", "discount", "add_on", "tax"]
    label: str
    amount_cents: int  # a discount is negative


class EstimateOut(BaseModel):
    pricing_version: str
    currency: str
    needs_custom_quote: bool
    reason: str | None
    cleaner_hours: float
    team_size: int
    time_on_site_hours: float
    billed_hours: float
    labour_cents: int
    discount_cents: int
    add_ons_cents: int
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    add_ons: list[AddOnLineOut]
    labor_cents: int  # the pinned API name of labour_cents
    duration_minutes: int  # time on site, the length a booking takes
    breakdown: list[BreakdownLineOut]

    @classmethod
    def of(cls, e: Estimate) -> EstimateOut:
        return cls(
            pricing_version=e.pricing_version,
            currency=e.currency,
            needs_custom_quote=e.needs_custom_quote,
            reason=e.reason,
            cleaner_hours=float(e.cleaner_hours),
            team_size=e.team_size,
            time_on_site_hours=float(e.time_on_site_hours),
            billed_hours=float(e.billed_hours),
            labour_cents=e.labour_cents,
            discount_cents=e.discount_cents,
            add_ons_cents=e.add_ons_cents,
            subtotal_cents=e.subtotal_cents,
            tax_cents=e.tax_cents,
            total_cents=e.total_cents,
            add_ons=[AddOnLineOut(**line.__dict__) for line in e.add_on_lines],
            labor_cents=e.labour_cents,
            duration_minutes=int(e.time_on_site_hours * 60),
            breakdown=breakdown(e),
        )


def breakdown(e: Estimate) -> list[BreakdownLineOut]:
    """Labour, the frequency discount, each add-on and tax, in that order."""
    if e.needs_custom_quote:
        return []
    hours = f"{e.billed_hours.normalize():f}"
    lines = [
        BreakdownLineOut(kind="labour", label=f"Labour, {hours} h", amount_cents=e.labour_cents)
    ]
    if e.discount_cents:
        lines.append(
            BreakdownLineOut(
                kind="discount", label="Frequency discount", amount_cents=-e.discount_cents
            )
        )
    lines += [
        BreakdownLineOut(
            kind="add_on",
            label=line.name if line.quantity == 1 else f"{line.name} x {line.quantity}",
            amount_cents=line.total_cents,
        )
        for line in e.add_on_lines
    ]
    if e.tax_cents:
        lines.append(BreakdownLineOut(kind="tax", label="Tax", amount_cents=e.tax_cents))
    return lines


class PricingVersionsOut(BaseModel):
    versions: dict[str, str]
