"""CSV export of leads that spreadsheets cannot turn into formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from servio.domains.intake.models import Lead

COLUMNS = (
    "id",
    "created_at",
    "status",
    "name",
    "email",
    "phone",
    "source",
    "estimate_total_cents",
    "currency",
    "referral_code",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell that a spreadsheet would read as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def leads_csv(leads: Iterable[Lead]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow([neutralise(getattr(lead, c)) for c in COLUMNS])
    return out.getvalue()
