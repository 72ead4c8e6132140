"""The catalog: every vertical's data, loaded once, swapped atomically on reload, and
combined with an org's overrides to price a request."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.catalog.estimator import CleaningRequest, Estimate, estimate
from servio.domains.catalog.pricing import (
    DepositPolicy,
    InvalidPricing,
    Vertical,
    load_text,
    parse,
)
from servio.domains.catalog.questions import EstimateQuestions, questions_for
from servio.domains.catalog.schemas import EstimateIn, EstimateOut
from servio.domains.identity import service as identity
from servio.platform.errors import DomainError, NotFound


class VerticalNotFound(NotFound):
    type = "vertical-not-found"
    title = "The business's vertical has no price list"


def vertical_files(extra_dir: Path | None = None) -> dict[str, str]:
    """The text of every vertical file by file name: the packaged ones, then those of
    ``extra_dir`` (a deployment's own, replacing a packaged file of the same name).
    The one reader of vertical files: the price lists and the conversations."""
    texts = {
        entry.name: entry.read_text("utf-8")
        for entry in resources.files("servio.verticals").iterdir()
        if entry.name.endswith(".toml")
    }
    if extra_dir is not None:
        texts |= {p.name: p.read_text("utf-8") for p in sorted(extra_dir.glob("*.toml"))}
    return texts


def _read_all(extra_dir: Path | None) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {}
    for name, text in vertical_files(extra_dir).items():
        data = load_text(text)
        if "pricing" not in data:
            continue  # a vertical without a price list (its conversation prices nothing)
        try:
            parse(data)
        except InvalidPricing as exc:
            exc.detail = f"{name}: {exc.detail}"
            raise
        raw[str(data["name"])] = data
    return raw


@dataclass
class Catalog:
    """Vertical data by name. ``reload`` validates every file first and swaps the whole
    set in one assignment: a bad file is refused and the old data stays in use."""

    extra_dir: Path | None = None
    _raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    _parsed: dict[tuple[str, str], Vertical] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reload()

    def reload(self) -> dict[str, str]:
        raw = _read_all(self.extra_dir)
        self._raw, self._parsed = raw, {}
        return self.versions()

    def versions(self) -> dict[str, str]:
        return {name: str(data["version"]) for name, data in self._raw.items()}

    def conversation(self, name: str) -> dict[str, Any]:
        """The vertical's conversation table (its questions' wording), empty when none."""
        table = self._raw.get(name, {}).get("conversation", {})
        return table if isinstance(table, dict) else {}

    def vertical(self, name: str, overrides: dict[str, Any]) -> Vertical:
        raw = self._raw.get(name)
        if raw is None:
            raise VerticalNotFound(f"No price list for the {name!r} vertical.")
        pricing = {k: v for k, v in overrides.items() if k.startswith(("pricing.", "deposit."))}
        key = (name, json.dumps(pricing, sort_keys=True, default=str))
        if key not in self._parsed:
            self._parsed[key] = parse(raw, pricing)
        return self._parsed[key]

    def check_overrides(self, name: str, overrides: dict[str, Any]) -> identity.PriceListCheck:
        """What the org settings' overrides make of the vertical's price list (the org
        settings check their changes with it)."""
        try:
            found = self.vertical(name, overrides)
        except VerticalNotFound as exc:
            return identity.PriceListCheck(missing=exc.detail)
        except InvalidPricing as exc:
            errors = exc.extra.get("errors") or [{"field": "", "message": exc.detail}]
            return identity.PriceListCheck(errors=tuple(errors))
        pricing = found.pricing.model_dump(mode="json")
        return identity.PriceListCheck(
            deposit=found.deposit.model_dump(mode="json"),
            pricing={k: v for k, v in pricing.items() if not isinstance(v, dict | list)},
        )


class UnsupportedCurrency(DomainError):
    status = 422
    type = "unsupported-currency"
    title = "The business does not price in that currency"


async def estimate_for_org(
    session: AsyncSession,
    catalog: Catalog,
    org_id: uuid.UUID,
    request: CleaningRequest,
    currency: str | None = None,
) -> Estimate:
    """The server's price for ``request`` at this org: its vertical, overrides and tax.
    A ``currency`` the client expects must be the org's (prices are never converted)."""
    org = await identity.get_org(session, org_id)
    if currency is not None and currency.upper() != org.currency:
        raise UnsupportedCurrency(
            f"{org.name} prices in {org.currency}, not {currency.upper()}.",
            extra={"field": "currency", "supported": [org.currency]},
        )
    settings = await identity.org_settings(session, org.id)
    vertical = catalog.vertical(org.vertical, settings)
    if vertical.currency != org.currency:
        vertical = vertical.model_copy(update={"currency": org.currency})
    tax_rate_bps = identity.OrgSettings.of(settings).tax_rate_bps
    return estimate(vertical, request, tax_rate_bps=tax_rate_bps)


async def estimate_questions(
    session: AsyncSession, catalog: Catalog, org_id: uuid.UUID
) -> EstimateQuestions:
    """What the org's booking form asks: its vertical's choices, with the org's prices
    (``VerticalNotFound`` when the vertical has no price list)."""
    org = await identity.get_org(session, org_id)
    settings = await identity.org_settings(session, org.id)
    vertical = catalog.vertical(org.vertical, settings)
    if vertical.currency != org.currency:
        vertical = vertical.model_copy(update={"currency": org.currency})
    return questions_for(vertical, catalog.conversation(org.vertical))


async def price_inputs(
    session: AsyncSession, catalog: Catalog, org_id: uuid.UUID, inputs: EstimateIn
) -> EstimateOut:
    """The breakdown other domains show, and store (``model_dump()``) with a lead or a
    booking."""
    request = CleaningRequest(**inputs.model_dump(exclude={"currency"}))
    found = await estimate_for_org(session, catalog, org_id, request, inputs.currency)
    return EstimateOut.of(found)


async def deposit_policy(
    session: AsyncSession, catalog: Catalog, org_id: uuid.UUID
) -> DepositPolicy:
    org = await identity.get_org(session, org_id)
    settings = await identity.org_settings(session, org.id)
    return catalog.vertical(org.vertical, settings).deposit


__all__ = [
    "Catalog",
    "DepositPolicy",
    "EstimateIn",
    "EstimateOut",
    "EstimateQuestions",
    "InvalidPricing",
    "VerticalNotFound",
    "deposit_policy",
    "estimate_for_org",
    "estimate_questions",
    "price_inputs",
]
