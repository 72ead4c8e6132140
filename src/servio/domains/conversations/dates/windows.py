"""When would the person like to come in: free text read into concrete local windows.

``understand("next Tuesday after 3", now=..., tz=ZoneInfo("America/Edmonton"))`` gives
the windows the person means, in the business's time zone, or an explicit
``NotUnderstood`` with a reason. The rule is never to guess: an unknown word, a
negation, a vague period ("maybe next month"), a date that does not exist ("31/02") or
two constraints that cannot both hold make the whole answer not understood, so the
conversation can ask again instead of booking the wrong day.

An answer is read as alternatives separated by "or", "and" or commas; within one
alternative every piece narrows the others ("tomorrow" + "morning" + "after 10").
An alternative without a day takes the day of its neighbour ("tomorrow morning or
afternoon"), and when only the last alternative names a time it applies to all
("Saturday or Sunday afternoon"). Windows that have gone by are dropped, one under way
starts now (flagged ``clipped``), and times that the clock skips or repeats are handled
DST-correctly: a skipped exact time is not understood, a repeated one is the first
occurrence (flagged ``ambiguous_time``).

A window with ``start == end`` is an exact time. Flags say what was assumed, so the
conversation can confirm it: ``assumed_meridiem`` ("after 3" read as 15:00),
``ambiguous_day`` ("next Friday" said early in the week: both Fridays are offered),
``approximate`` ("in two weeks", "around 4"), ``outside_hours``, ``clipped``,
``shifted`` (a window edge the clock skips, moved forward) and ``ambiguous_time``.
Absolute dates are read by the small rules in ``dates.reading`` rather than by a
general date parser, whose fuzzy mode fills in whatever the text leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from servio.domains.conversations.dates import words
from servio.domains.conversations.dates.items import (
    At,
    Bound,
    Clock,
    Days,
    Item,
    Marker,
    Part,
    Problem,
    TimeWord,
    Weekdays,
    tokenize,
)
from servio.domains.conversations.dates.reading import Reader

Outcome = Literal["exact", "window", "several", "earliest", "not_understood", "past"]

# Which problem to report when an answer has several (the most telling first).
_PROBLEM_ORDER = (
    "negation",
    "past",
    "vague",
    "invalid_date",
    "invalid_time",
    "unsupported",
    "incomplete",
    "ambiguous_number",
    "unknown_words",
)


@dataclass(frozen=True)
class WhenRules:
    """The business's reading of day parts and how far to look; local wall-clock times."""

    opens: time = time(8)
    closes: time = time(21)  # close of day: "after 3" runs until then
    morning: tuple[time, time] = (time(8), time(12))
    afternoon: tuple[time, time] = (time(12), time(17))
    evening: tuple[time, time] = (time(17), time(21))
    lunch: tuple[time, time] = (time(12), time(14))
    spread: int = 5  # days offered for "any weekday", "evenings", "every Tuesday"
    horizon_days: int = 365
    max_windows: int = 30
    max_length: int = 500

    def __post_init__(self) -> None:
        spans = (
            (self.opens, self.closes),
            self.morning,
            self.afternoon,
            self.evening,
            self.lunch,
        )
        if any(start >= end for start, end in spans):
            raise ValueError("every span of the day must start before it ends")
        if min(self.spread, self.horizon_days, self.max_windows, self.max_length) < 1:
            raise ValueError("spread, horizon_days, max_windows and max_length must be positive")

    def part(self, part: Part) -> tuple[time, time]:
        start, end = getattr(self, part.name)
        if part.narrow is None:
            return start, end
        middle = _minutes_to_time((_minutes(start) + _minutes(end)) // 2)
        return (start, middle) if part.narrow == "early" else (middle, end)


DEFAULT_RULES = WhenRules()


@dataclass(frozen=True)
class Window:
    """A local window; ``start == end`` means an exact time."""

    start: datetime
    end: datetime
    flags: frozenset[str] = frozenset()

    @property
    def exact(self) -> bool:
        return self.start == self.end

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)


@dataclass(frozen=True)
class Understood:
    """Candidate windows, soonest first; ``earliest`` marks "as soon as possible"."""

    windows: tuple[Window, ...]
    outcome: Outcome
    kind: str  # phrase kind for stats: relative_day, weekday, date, iso, offset, …
    earliest: bool = False


@dataclass(frozen=True)
class NotUnderstood:
    """Why the answer was not taken; ``detail`` is a sentence for staff, not for the
    contact (the conversation words its own re-ask)."""

    reason: str  # vague, negation, past, invalid_date, contradictory, nonexistent_time, …
    detail: str
    outcome: Outcome = "not_understood"

    @property
    def kind(self) -> str:
        """Rejections are counted by reason, as successes are counted by phrase kind."""
        return self.reason


Understanding = Understood | NotUnderstood


@dataclass(frozen=True)
class _DayTime:
    start: time
    end: time
    exact: bool
    flags: frozenset[str] = frozenset()


@dataclass
class _Group:
    """One alternative of the answer."""

    days: list[Days] = field(default_factory=list)
    weekdays: list[Weekdays] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    bounds: list[Bound] = field(default_factory=list)
    ats: list[At] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)

    @property
    def has_days(self) -> bool:
        return bool(self.days or self.weekdays)

    @property
    def has_time(self) -> bool:
        return bool(self.parts or self.bounds or self.ats or "whole_day" in self.markers)

    @property
    def kind(self) -> str:
        if self.days:
            return self.days[0].kind
        return self.weekdays[0].kind if self.weekdays else "time"


def understand(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    locale_hint: str = "en",
    day_first: bool = True,
    rules: WhenRules = DEFAULT_RULES,
) -> Understanding:
    """The windows a free-text answer names, local to ``tz``, none of them before ``now``;
    or NotUnderstood with a reason rather than a guess. Only English is read today; the
    locale hint is taken so callers already pass the contact's language."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not text.strip():
        return NotUnderstood("empty", "no answer was given")
    if len(text) > rules.max_length:
        return NotUnderstood("too_long", "the answer is too long to read as a date")
    local_now = now.astimezone(tz)
    items = Reader(tokenize(text), local_now.date(), day_first).read()
    problem = _first_problem(items)
    if problem is not None:
        outcome: Outcome = "past" if problem.reason == "past" else "not_understood"
        return NotUnderstood(problem.reason, problem.detail, outcome)
    earliest = Marker("asap") in items
    groups = _groups(items)
    if not groups:
        if earliest:
            return Understood((), "earliest", "asap", earliest=True)
        return NotUnderstood("no_date_or_time", "no day or time was named")
    return _windows_for(groups, local_now, tz, rules, earliest)


def _first_problem(items: list[Item]) -> Problem | None:
    problems = [item for item in items if isinstance(item, Problem)]
    if not problems:
        return None
    return min(problems, key=lambda p: _PROBLEM_ORDER.index(p.reason))


def _groups(items: list[Item]) -> list[_Group]:
    groups = [_Group()]
    for item in items:
        group = groups[-1]
        if isinstance(item, Marker):
            if item.name == "connector":
                groups.append(_Group())
            elif item.name != "filler":
                group.markers.add(item.name)
        elif isinstance(item, Days):
            group.days.append(item)
        elif isinstance(item, Weekdays):
            group.weekdays.append(item)
        elif isinstance(item, Part):
            group.parts.append(item)
        elif isinstance(item, Bound):
            group.bounds.append(item)
        elif isinstance(item, At):
            group.ats.append(item)
    kept = [g for g in groups if g.has_days or g.has_time or "many" in g.markers]
    for group in kept:
        if "many" in group.markers:  # "every Tuesday", "any Friday": several of them
            group.weekdays = [Weekdays(w.days, "any", "any_day") for w in group.weekdays]
    kept = [split for g in kept for split in _split_weekday_lists(g)]
    _share_days_and_times(kept)
    return kept


def _split_weekday_lists(group: _Group) -> list[_Group]:
    """Weekdays listed without commas ("sat sun") are alternatives, not both at once."""
    singles = [w for w in group.weekdays if w.mode != "any"]
    if group.days or len(singles) < 2:
        return [group]
    shared = [w for w in group.weekdays if w.mode == "any"]
    return [
        _Group(
            days=[],
            weekdays=[single, *shared],
            parts=group.parts,
            bounds=group.bounds,
            ats=group.ats,
            markers=group.markers,
        )
        for single in singles
    ]


def _share_days_and_times(groups: list[_Group]) -> None:
    dated = [g for g in groups if g.has_days]
    for index, group in enumerate(groups):
        if group.has_days or not dated:
            continue
        before = [g for g in groups[:index] if g.has_days]
        donor = before[-1] if before else dated[0]
        group.days, group.weekdays = list(donor.days), list(donor.weekdays)
        group.markers |= donor.markers & {"many"}
    timed = [g for g in groups if g.has_time]
    if len(groups) > 1 and timed == [groups[-1]]:
        last = groups[-1]
        for group in groups[:-1]:
            group.parts, group.bounds, group.ats = last.parts, last.bounds, last.ats


def _windows_for(
    groups: list[_Group], now: datetime, tz: ZoneInfo, rules: WhenRules, earliest: bool
) -> Understanding:
    found: dict[tuple[datetime, datetime], Window] = {}
    for group in groups:
        windows = _group_windows(group, now, tz, rules)
        if isinstance(windows, NotUnderstood):
            return windows
        for window in windows:
            found.setdefault((window.start_utc, window.end_utc), window)
    ordered = tuple(found[key] for key in sorted(found))[: rules.max_windows]
    kinds = {g.kind for g in groups}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    if len(ordered) == 1:
        outcome: Outcome = "exact" if ordered[0].exact else "window"
    else:
        outcome = "several"
    return Understood(ordered, outcome, kind, earliest)


def _group_windows(
    group: _Group, now: datetime, tz: ZoneInfo, rules: WhenRules
) -> list[Window] | NotUnderstood:
    if not group.has_days and not (group.parts or group.bounds or group.ats):
        return NotUnderstood("vague", "'any time' needs a day")
    daytime = _day_time(group, rules)
    if isinstance(daytime, NotUnderstood):
        return daytime
    days = _named_days(group, now.date(), rules)
    if isinstance(days, NotUnderstood):
        return days
    if days is not None:
        return _windows_on_named_days(days, daytime, now, tz)
    return _windows_on_any_days(group, daytime, now, tz, rules)


def _windows_on_named_days(
    days: list[tuple[date, frozenset[str]]], daytime: _DayTime, now: datetime, tz: ZoneInfo
) -> list[Window] | NotUnderstood:
    windows = []
    for day, flags in days:
        window = _window(day, daytime, now, tz)
        if isinstance(window, NotUnderstood):
            return window
        if window is not None:
            windows.append(Window(window.start, window.end, window.flags | flags))
    if not windows:
        return NotUnderstood("past", "that time has already gone by", "past")
    return windows


def _windows_on_any_days(
    group: _Group, daytime: _DayTime, now: datetime, tz: ZoneInfo, rules: WhenRules
) -> list[Window] | NotUnderstood:
    """The first days from today still ahead ("any weekday evening", "evenings", "3pm")."""
    allowed = frozenset(range(7))
    for weekdays in group.weekdays:
        allowed &= weekdays.days
    if not allowed:
        return NotUnderstood("contradictory", "those days exclude each other")
    many = bool(group.weekdays) or "many" in group.markers or any(p.many for p in group.parts)
    wanted = rules.spread if many else 1
    windows: list[Window] = []
    for day in _days_from(now.date(), rules.horizon_days):
        if day.weekday() not in allowed:
            continue
        window = _window(day, daytime, now, tz)
        if isinstance(window, NotUnderstood):
            return window
        if window is not None:
            windows.append(window)
        if len(windows) == wanted:
            break
    return windows


def _days_from(today: date, count: int) -> Iterator[date]:
    return (today + timedelta(days=n) for n in range(count + 1))


def _named_days(
    group: _Group, today: date, rules: WhenRules
) -> list[tuple[date, frozenset[str]]] | NotUnderstood | None:
    """The days an alternative names outright, or None when it names a kind of day."""
    singles = [w for w in group.weekdays if w.mode != "any"]
    if not group.days and not singles:
        return None
    if group.days:
        chosen = set(group.days[0].dates)
        for days in group.days[1:]:
            chosen &= set(days.dates)
        flags = frozenset(d.flag for d in group.days if d.flag is not None)
        named = [(day, flags) for day in sorted(chosen)]
    else:
        named = _weekday_dates(singles[0], today)
    for weekdays in group.weekdays:
        named = [(day, flags) for day, flags in named if day.weekday() in weekdays.days]
    if not named:
        return NotUnderstood("contradictory", "those days do not agree with each other")
    if named[-1][0] > today + timedelta(days=rules.horizon_days):
        return NotUnderstood("too_far", "that day is too far ahead to book")
    return named


def _weekday_dates(weekdays: Weekdays, today: date) -> list[tuple[date, frozenset[str]]]:
    """A lone "Tuesday" is the coming one; "this Tuesday" may be today; "next Tuesday" said
    early in the week could mean this week's or next week's, so both are offered, flagged."""
    (weekday,) = weekdays.days
    ahead = (weekday - today.weekday()) % 7
    if weekdays.mode == "this":
        return [(today + timedelta(days=ahead), frozenset())]
    coming = today + timedelta(days=ahead or 7)
    if weekdays.mode == "next" and coming.isocalendar()[:2] == today.isocalendar()[:2]:
        flag = frozenset({"ambiguous_day"})
        return [(coming, flag), (coming + timedelta(days=7), flag)]
    return [(coming, frozenset())]


def _day_time(group: _Group, rules: WhenRules) -> _DayTime | NotUnderstood:
    """Parts, ranges and exact times of one alternative, narrowed together."""
    low, high = rules.opens, rules.closes
    hint = None
    for part in group.parts:
        start, end = rules.part(part)
        low, high, hint = max(low, start), min(high, end), words.PART_HINTS[part.name]
    if low >= high:
        return NotUnderstood("contradictory", "those parts of the day do not overlap")
    flags: set[str] = set()
    for bound in group.bounds:
        span = _bound_times(bound, hint, rules)
        if span is None and (bound.after is None or bound.before is None):
            return NotUnderstood("outside_hours", "that time is outside the hours we book")
        if span is None:
            return NotUnderstood("contradictory", "that range ends before it starts")
        start, end, assumed = span
        flags |= assumed
        if group.parts and not _said_within(bound, start, end, low, high):
            return NotUnderstood("contradictory", "that time is outside the part of day named")
        if max(start, rules.opens) >= min(end, rules.closes):
            return NotUnderstood("outside_hours", "that time is outside the hours we book")
        low, high = max(low, start), min(high, end)
        if low >= high:
            return NotUnderstood("contradictory", "those times do not overlap")
    return _exact_or_span(group, low, high, hint, flags, rules)


def _exact_or_span(
    group: _Group, low: time, high: time, hint: str | None, flags: set[str], rules: WhenRules
) -> _DayTime | NotUnderstood:
    exact = [_clock_time(at.clock, hint, rules) for at in group.ats]
    if len({moment for moment, _ in exact}) > 1:
        return NotUnderstood("contradictory", "more than one exact time was named")
    if not exact:
        return _DayTime(low, high, exact=False, flags=frozenset(flags))
    moment, assumed = exact[0]
    narrowed = bool(group.parts or group.bounds)
    if narrowed and not low <= moment <= high:
        return NotUnderstood("contradictory", "that time is outside the part of day named")
    flags |= assumed
    if any(at.approx for at in group.ats):
        flags.add("approximate")
    if not rules.opens <= moment <= rules.closes:
        flags.add("outside_hours")
    return _DayTime(moment, moment, exact=True, flags=frozenset(flags))


def _bound_times(
    bound: Bound, hint: str | None, rules: WhenRules
) -> tuple[time, time, frozenset[str]] | None:
    """A range's local times; an hour said without am/pm takes the reading that keeps the
    range in order ("2-5pm" is 14-17, "10-2" is 10-14)."""
    starts = _readings(bound.after, hint, _meridiem(bound.before), rules, "start")
    ends = _readings(bound.before, hint, _meridiem(bound.after), rules, "end")
    for start, start_flags in starts:
        for end, end_flags in sorted(ends, key=lambda reading: reading[0]):
            if start < end:
                return start, end, start_flags | end_flags
    return None


def _said_within(bound: Bound, start: time, end: time, low: time, high: time) -> bool:
    """Whether said times lie in the part of day ("morning after 10" does, "after 3" not)."""
    after_ok = not isinstance(bound.after, Clock) or low <= start <= high
    before_ok = not isinstance(bound.before, Clock) or low <= end <= high
    return after_ok and before_ok


def _meridiem(said: TimeWord | Part | None) -> str | None:
    return said.meridiem if isinstance(said, Clock) else None


def _readings(
    said: TimeWord | Part | None,
    hint: str | None,
    other: str | None,
    rules: WhenRules,
    side: Literal["start", "end"],
) -> list[tuple[time, frozenset[str]]]:
    if said is None:
        return [(rules.opens if side == "start" else rules.closes, frozenset())]
    if isinstance(said, Part):  # "after lunch" starts when lunch ends
        start, end = rules.part(said)
        return [(end if side == "start" else start, frozenset())]
    first = _clock_time(said, hint or other, rules)
    if not _adjustable(said) or hint is not None:
        return [first]
    flipped = time((first[0].hour + 12) % 24, first[0].minute)
    return [first, (flipped, first[1])]


def _adjustable(said: TimeWord) -> bool:
    return isinstance(said, Clock) and not said.meridiem and not said.literal and said.hour < 12


def _clock_time(said: TimeWord, hint: str | None, rules: WhenRules) -> tuple[time, frozenset[str]]:
    """The time of day meant; an hour from 1 to 11 without am/pm is read as the business
    would ("after 3" is 15:00, "at 10" is 10:00) and flagged ``assumed_meridiem``."""
    if isinstance(said, time):
        return said, frozenset()
    hour = said.hour % 12 + (12 if said.meridiem == "pm" else 0) if said.meridiem else said.hour
    if not _adjustable(said) or hour == 0:
        return time(hour, said.minute), frozenset()
    morning, afternoon = time(hour, said.minute), time(hour + 12, said.minute)
    if hint is not None:
        return (morning if hint == "am" else afternoon), frozenset()
    opens_pm = rules.opens <= afternoon < rules.closes
    opens_am = rules.opens <= morning < rules.closes
    chosen = afternoon if opens_pm and not opens_am else morning
    return chosen, frozenset({"assumed_meridiem"})


def _window(
    day: date, daytime: _DayTime, now: datetime, tz: ZoneInfo
) -> Window | NotUnderstood | None:
    """The window on ``day``, or None when it has gone by; one under way starts now."""
    start, start_flags = _local(day, daytime.start, tz)
    if daytime.exact:
        if "shifted" in start_flags:
            return NotUnderstood("nonexistent_time", f"{daytime.start:%H:%M} on {day} is skipped")
        if start.astimezone(UTC) < now.astimezone(UTC):
            return None
        return Window(start, start, daytime.flags | start_flags)
    end, end_flags = _local(day, daytime.end, tz)
    flags = daytime.flags | start_flags | end_flags
    if start.astimezone(UTC) < now.astimezone(UTC):
        start = _next_minute(now).astimezone(tz)
        flags |= {"clipped"}
    if start.astimezone(UTC) >= end.astimezone(UTC):
        return None
    return Window(start, end, flags)


def _local(day: date, at: time, tz: ZoneInfo) -> tuple[datetime, frozenset[str]]:
    """A wall-clock time as a real instant: a time the clock skips moves forward by the
    gap (``shifted``); a time it repeats is the first occurrence (``ambiguous_time``)."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0)
    if first.utcoffset() == wall.replace(tzinfo=tz, fold=1).utcoffset():
        return first, frozenset()
    real = first.astimezone(UTC).astimezone(tz)
    if real.replace(tzinfo=None) != wall:
        return real, frozenset({"shifted"})
    return first, frozenset({"ambiguous_time"})


def _next_minute(now: datetime) -> datetime:
    instant = now.astimezone(UTC)
    whole = instant.replace(second=0, microsecond=0)
    return whole if whole == instant else whole + timedelta(minutes=1)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _minutes_to_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)
