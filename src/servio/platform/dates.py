"""Dates and instants a request may carry: years 1900 to 2200, instants with an offset.

Python's calendar runs from year 1 to 9999: an instant at either end overflows as soon
as it is moved to UTC or a day is added to it, and PostgreSQL refuses years Python
accepts. No booking, report or filter means such a day, so every schema field and query
parameter taking a date or an instant uses these types, and such a value is refused with
422 where it enters. An instant without an offset is refused too: it names no moment."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

MIN_YEAR = 1900
MAX_YEAR = 2200
_OUT_OF_RANGE = f"must fall between the years {MIN_YEAR} and {MAX_YEAR}"


def _sane_date(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return value


def _sane_datetime(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return value


SaneDate = Annotated[date, AfterValidator(_sane_date)]
"""A calendar day between the years 1900 and 2200."""

SaneDateTime = Annotated[AwareDatetime, AfterValidator(_sane_datetime)]
"""An instant with its UTC offset, between the years 1900 and 2200."""


def parse_sane_date(text: str) -> date:
    """``YYYY-MM-DD`` typed into a page's form or query; ValueError when it is not a day
    between the years 1900 and 2200."""
    return _sane_date(date.fromisoformat(text))


def parse_sane_datetime(text: str) -> datetime:
    """An ISO 8601 date and time typed into a page (with or without an offset: a page
    may attach the business's zone); ValueError outside the years 1900 to 2200."""
    return _sane_datetime(datetime.fromisoformat(text))
