"""Tokens of an answer and the items of meaning read from them.

A token is a word, a number, a clock time ("3pm", "10:30"), a numeric date ("14/12") or
a separator. An item is one piece of meaning: days ("tomorrow", "14/12", "next week"),
weekdays ("Tuesday", "weekdays"), a day part ("morning"), a time ("3pm", "after 3"), a
marker (asap, any, or) or a problem (an unknown word, a negation, a vague phrase).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta


@dataclass(frozen=True)
class Token:
    kind: str  # word, num, ord, clock, date, isodate, dash, comma
    text: str
    values: tuple[int, ...] = ()
    meridiem: str | None = None  # clocks: "am", "pm" or None when not said
    literal: bool = False  # clocks: a 24-hour reading ("15:00", "09:30"), never shifted
    approx: bool = False  # clocks: "3ish"


@dataclass(frozen=True)
class Clock:
    """A time as said: "3" or "3pm" or "15:00"; ``literal`` means no am/pm reading applies."""

    hour: int
    minute: int
    meridiem: str | None
    literal: bool


@dataclass(frozen=True)
class Days:
    dates: tuple[date, ...]
    kind: str
    flag: str | None = None


@dataclass(frozen=True)
class Weekdays:
    days: frozenset[int]
    mode: str  # coming (first after today), this (today counts), next, any (several)
    kind: str


@dataclass(frozen=True)
class Part:
    name: str
    narrow: str | None = None  # "early" or "late": the first or second half
    many: bool = False


@dataclass(frozen=True)
class Bound:
    """A time range; a bound may be a day part ("after lunch" starts when lunch ends)."""

    after: Clock | time | Part | None
    before: Clock | time | Part | None


@dataclass(frozen=True)
class At:
    clock: Clock | time
    approx: bool = False


@dataclass(frozen=True)
class Marker:
    name: str  # asap, whole_day, many, connector


@dataclass(frozen=True)
class Problem:
    reason: str
    detail: str


Item = Days | Weekdays | Part | Bound | At | Marker | Problem
TimeWord = Clock | time

_TOKEN = re.compile(
    r"(?P<isodate>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})(?![0-9])"
    r"|(?P<date3>[0-9]{1,2}([/.-])[0-9]{1,2}\3(?:[0-9]{4}|[0-9]{2}))(?![0-9])"
    r"|(?P<clockm>[0-9]{1,2}(?:[:.][0-9]{2})?(?:\s*(?:am|pm)|[ap]))(?![^\W\d_])"
    r"|(?P<clock>[0-9]{1,2}:[0-9]{2})(?::[0-9]{2})?(?![0-9])"
    r"|(?P<hclock>[0-9]{1,2}h(?:[0-9]{2})?)(?![^\W_])"
    r"|(?P<ish>[0-9]{1,2}(?::[0-9]{2})?)ish(?![^\W_])"
    r"|(?P<date2>[0-9]{1,2}[/.][0-9]{1,2})(?![0-9])\.?"
    r"|(?P<ord>[0-9]{1,2})(?:st|nd|rd|th)(?![^\W_])"
    r"|(?P<num>[0-9]+)"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)?)"
    r"|(?P<dash>[-\u2013\u2014])"
    r"|(?P<comma>[,;/&+])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.split(r"[^0-9]+", text) if part)


def _clock(text: str, approx: bool = False) -> Token:
    hour, *rest = _numbers(text)
    meridiem = "pm" if text.endswith(("p", "pm")) else "am" if text.endswith(("a", "am")) else None
    literal = meridiem is None and (text.startswith("0") or hour >= 13)
    minute = rest[0] if rest else 0
    return Token("clock", text, (hour, minute), meridiem, literal, approx)


def _token(kind: str, raw: str) -> Token | None:
    if kind == "other":  # letters and digits we cannot read must still be seen
        return Token("word", raw) if unicodedata.category(raw)[0] in "LN" else None
    if kind in ("clockm", "clock", "hclock", "ish"):
        return _clock(raw, approx=kind == "ish")
    if kind == "num" and len(raw) > 4:
        return Token("word", raw)
    if kind in ("isodate", "date3", "date2", "ord", "num"):
        return Token("date" if kind in ("date3", "date2") else kind, raw, _numbers(raw))
    return Token(kind, raw)


def tokenize(text: str) -> list[Token]:
    """Tokens of a lower-cased, normalised answer; unknown letters and digits stay visible."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = re.sub(r"\b([ap])\.m\.?", r"\1m", text)
    text = re.sub(r"([0-9]{4}-[0-9]{2}-[0-9]{2})t(?=[0-9])", r"\1 ", text)
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind, raw = next((k, v) for k, v in match.groupdict().items() if v is not None)
        token = None if kind == "space" else _token(kind, raw)
        if token is not None:
            tokens.append(token)
    return tokens


def nearest_date(today: date, month: int, day: int, year: int | None) -> date | None:
    """The date meant; without a year the occurrence nearest to today (so a date a few
    days gone stays in the past instead of silently moving to next year)."""
    years = [year] if year is not None else [today.year - 1, today.year, today.year + 1]
    found: list[date] = []
    for candidate in years:
        try:
            found.append(date(candidate, month, day))
        except ValueError:
            continue
    if not found:
        return None
    return min(found, key=lambda d: (abs((d - today).days), d < today))


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def weekend_days(today: date, mode: str) -> Days:
    """This weekend (the coming one, or the one under way); "next weekend" said on a
    weekday could be either of the next two, so both are offered and flagged."""
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:
        saturday = today - timedelta(days=1)
    this = [saturday, saturday + timedelta(days=1)]
    if mode == "this":
        return Days(tuple(d for d in this if d >= today), "weekend")
    following = [d + timedelta(days=7) for d in this]
    if today.weekday() >= 5:
        return Days(tuple(following), "weekend")
    return Days(tuple(this + following), "weekend", "ambiguous_day")


def day_of_month(today: date, day: int) -> date | None:
    """A day of the month ("the 14th"): this month's unless gone by, else the next that has it."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None
