"""The deposit policy as a pure function: whether a booking needs a deposit, why,
and how much (a share of the subtotal rounded up to the cent, clamped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from servio.domains.catalog.service import DepositPolicy


@dataclass(frozen=True)
class DepositDecision:
    required: bool
    amount_cents: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class BookingFacts:
    subtotal_cents: int | None
    cleaning_type: str | None
    local_start: datetime
    now: datetime
    first_time_client: bool
    risk: bool = False


def decide(policy: DepositPolicy, facts: BookingFacts) -> DepositDecision:
    reasons: list[str] = []
    if policy.new_client and facts.first_time_client:
        reasons.append("new_client")
    if facts.cleaning_type in policy.heavy_types:
        reasons.append("heavy_cleaning")
    if facts.local_start.weekday() in policy.weekend_days:
        reasons.append("weekend")
    notice = facts.local_start - facts.now
    for hours in sorted(policy.short_notice_hours):
        if notice < timedelta(hours=hours):
            reasons.append(f"short_notice_{hours}h")
            break
    if facts.subtotal_cents is not None and facts.subtotal_cents >= policy.high_value_cents:
        reasons.append("high_value")
    if facts.risk:
        reasons.append("risk")
    if not reasons:
        return DepositDecision(False, 0, ())
    if facts.subtotal_cents is None:
        amount = policy.min_cents
    else:
        share = -(-facts.subtotal_cents * policy.percent_bps // 10_000)  # round up
        amount = min(max(share, policy.min_cents), policy.max_cents)
    return DepositDecision(True, amount, tuple(reasons))
