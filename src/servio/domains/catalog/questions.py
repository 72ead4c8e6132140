"""What a booking form asks for a priced vertical: the choices its price list knows
(cleaning types, frequencies, add-ons with their prices), labelled with the words of the
vertical's conversation when it has them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servio.domains.catalog.pricing import Vertical


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class AddOnChoice:
    key: str
    label: str
    unit_cents: int
    per_unit: bool  # a quantity is asked (e.g. beds of linen); else once, yes or no


@dataclass(frozen=True)
class EstimateQuestions:
    currency: str
    max_beds: int
    max_baths: int
    cleaning_types: list[Choice]
    frequencies: list[Choice]
    add_ons: list[AddOnChoice]


def _labels(conversation: dict[str, Any], key: str) -> dict[str, str]:
    for question in conversation.get("questions", []):
        if question.get("key") == key:
            return {str(o["value"]): str(o["label"]) for o in question.get("options", [])}
    return {}


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def questions_for(vertical: Vertical, conversation: dict[str, Any]) -> EstimateQuestions:
    pricing = vertical.pricing
    types = _labels(conversation, "cleaning_type")
    often = _labels(conversation, "frequency")
    return EstimateQuestions(
        currency=vertical.currency,
        max_beds=pricing.max_beds,
        max_baths=pricing.max_baths,
        cleaning_types=[Choice(v, types.get(v, _label(v))) for v in pricing.cleaning_types],
        frequencies=[Choice(v, often.get(v, _label(v))) for v in pricing.frequency_discount_bps],
        add_ons=[
            *(AddOnChoice(k, _label(k), c, False) for k, c in pricing.add_ons.flat.items()),
            *(AddOnChoice(k, _label(k), c, True) for k, c in pricing.add_ons.per_unit.items()),
        ],
    )
