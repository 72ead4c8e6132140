"""A vertical's pricing data, validated: read from TOML, with org overrides applied."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from servio.platform.errors import DomainError

Hours = Decimal


class InvalidPricing(DomainError):
    status = 422
    type = "invalid-pricing"
    title = "The pricing data is not valid"
    description = (
        "A vertical file or an org override breaks the pricing model; `errors` says where."
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SizeRow(_Strict):
    beds: int = Field(ge=0, le=50)
    baths: int = Field(ge=0, le=50)
    hours: Hours = Field(gt=0)


class TeamRow(_Strict):
    max_hours: Hours | None = None
    team: int = Field(ge=1, le=20)


class GreaseRow(_Strict):
    max_beds: int | None = None
    hours: Hours = Field(ge=0)


class AddOns(_Strict):
    flat: dict[str, int] = Field(default_factory=dict)
    per_unit: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct(self) -> AddOns:
        both = set(self.flat) & set(self.per_unit)
        if both:
            raise ValueError(f"add-ons listed as both flat and per unit: {sorted(both)}")
        if any(v < 0 for v in [*self.flat.values(), *self.per_unit.values()]):
            raise ValueError("add-on prices may not be negative")
        return self


class Pricing(_Strict):
    hourly_rate_cents: int = Field(ge=0, le=1_000_000)
    min_cleaner_hours: Hours = Field(ge=0)
    round_on_site_to_hours: Hours = Field(gt=0)
    max_beds: int = Field(ge=0, le=50)
    max_baths: int = Field(ge=0, le=50)
    multi_floor_hours: Hours = Field(ge=0)
    base_hours: list[SizeRow] = Field(min_length=1)
    team_sizes: list[TeamRow] = Field(min_length=1)
    heavy_grease: list[GreaseRow] = Field(min_length=1)
    cleaning_types: dict[str, Hours] = Field(min_length=1)
    frequency_discount_bps: dict[str, int] = Field(min_length=1)
    add_ons: AddOns

    @field_validator("frequency_discount_bps")
    @classmethod
    def _discounts(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= bps <= 10_000 for bps in value.values()):
            raise ValueError("a discount is between 0 and 10000 basis points")
        return value

    @field_validator("cleaning_types")
    @classmethod
    def _multipliers(cls, value: dict[str, Hours]) -> dict[str, Hours]:
        if any(m <= 0 for m in value.values()):
            raise ValueError("cleaning-type multipliers are positive")
        return value

    @model_validator(mode="after")
    def _open_ended_last(self) -> Pricing:
        if self.team_sizes[-1].max_hours is not None or self.heavy_grease[-1].max_beds is not None:
            raise ValueError("the last team-size and heavy-grease rows must be open-ended")
        return self


class DepositPolicy(_Strict):
    percent_bps: int = Field(ge=0, le=10_000)
    min_cents: int = Field(ge=0)
    max_cents: int = Field(ge=0)
    high_value_cents: int = Field(ge=0)
    heavy_types: list[str] = Field(default_factory=list)
    weekend_days: list[int] = Field(default_factory=list)
    new_client: bool = True
    short_notice_hours: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounds(self) -> DepositPolicy:
        if self.max_cents < self.min_cents:
            raise ValueError("max_cents is below min_cents")
        return self


class Vertical(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    version: str = Field(min_length=1, max_length=60)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    pricing: Pricing
    deposit: DepositPolicy


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            raise InvalidPricing(f"There is no pricing setting called {dotted!r}.")
        node = child
    if leaf not in node and not (parents and parents[-1] in {"flat", "per_unit"}):
        raise InvalidPricing(f"There is no pricing setting called {dotted!r}.")
    node[leaf] = value


def parse(raw: dict[str, Any], overrides: dict[str, Any] | None = None) -> Vertical:
    """Validate vertical data, with ``pricing.<path>`` overrides applied first."""
    data = copy.deepcopy(raw)
    data.pop("conversation", None)  # the conversation domain reads and validates its table
    for key, value in sorted((overrides or {}).items()):
        if key.startswith(("pricing.", "deposit.")):
            _set_path(data, key, value)
    try:
        return Vertical.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidPricing(
            f"{len(errors)} problem(s) in the pricing data.", extra={"errors": errors}
        ) from exc


def load_text(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPricing(f"The file is not valid TOML: {exc}.") from exc
