"""Free-text preferred dates and times: a table of phrases against a fixed "now"
(Thursday 2026-11-19 09:15 in America/Edmonton), the answers that must not be
guessed, both DST changes of Edmonton, and properties that hold for any text."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servio.domains.conversations.dates import (
    NotUnderstood,
    Understanding,
    Understood,
    WhenRules,
    understand,
    words,
)

EDMONTON = ZoneInfo("America/Edmonton")
NOW = datetime(2026, 11, 19, 9, 15, tzinfo=EDMONTON)  # a Thursday


def read(text: str, now: datetime = NOW, **options: object) -> Understanding:
    return understand(text, now=now, tz=EDMONTON, **options)  # type: ignore[arg-type]


def described(result: Understanding) -> list[str]:
    """Windows as "2026-11-20 08:00-12:00", or "2026-11-20 10:30" for an exact time."""
    assert isinstance(result, Understood), result
    return [
        f"{w.start:%Y-%m-%d %H:%M}" if w.exact else f"{w.start:%Y-%m-%d %H:%M}-{w.end:%H:%M}"
        for w in result.windows
    ]


def days(*dates: str, hours: str = "08:00-21:00") -> list[str]:
    return [f"2026-{d} {hours}" for d in dates]


TOMORROW_MORNING_AND_AFTERNOON = ["2026-11-20 08:00-12:00", "2026-11-20 12:00-17:00"]
WEEKDAY_EVENINGS = days("11-19", "11-20", "11-23", "11-24", "11-25", hours="17:00-21:00")

UNDERSTOOD: list[tuple[str, str, list[str]]] = [
    # the phrases of the issue
    ("tomorrow morning", "window", ["2026-11-20 08:00-12:00"]),
    ("next Tuesday after 3", "window", ["2026-11-24 15:00-21:00"]),
    ("14/12 at 10:30", "exact", ["2026-12-14 10:30"]),
    ("any weekday evening", "several", WEEKDAY_EVENINGS),
    ("Saturday or Sunday", "several", days("11-21", "11-22")),
    ("this weekend", "several", days("11-21", "11-22")),
    ("in two weeks", "window", days("12-03")),
    ("Dec 3rd 2pm", "exact", ["2026-12-03 14:00"]),
    ("3pm", "exact", ["2026-11-19 15:00"]),
    ("noon", "exact", ["2026-11-19 12:00"]),
    ("asap", "earliest", []),
    ("as soon as possible", "earliest", []),
    ("2026-12-14 10:30", "exact", ["2026-12-14 10:30"]),
    ("2026-12-14T10:30", "exact", ["2026-12-14 10:30"]),
    # relative days and parts of the day
    ("tomorrow", "window", days("11-20")),
    ("today", "window", ["2026-11-19 09:15-21:00"]),
    ("tonight", "window", ["2026-11-19 17:00-21:00"]),
    ("this afternoon", "window", ["2026-11-19 12:00-17:00"]),
    ("this evening", "window", ["2026-11-19 17:00-21:00"]),
    ("the day after tomorrow", "window", days("11-21")),
    ("early morning tomorrow", "window", ["2026-11-20 08:00-10:00"]),
    ("late afternoon friday", "window", ["2026-11-20 14:30-17:00"]),
    ("any time tomorrow", "window", days("11-20")),
    ("morning after 10", "window", ["2026-11-19 10:00-12:00"]),
    ("Hi! Could I come in tomorrow afternoon please?", "window", ["2026-11-20 12:00-17:00"]),
    # times and ranges
    ("tomorrow evening at 8", "exact", ["2026-11-20 20:00"]),
    ("friday 3-5", "window", ["2026-11-20 15:00-17:00"]),
    ("fri 2pm-5pm", "window", ["2026-11-20 14:00-17:00"]),
    ("between 2 and 5 on monday", "window", ["2026-11-23 14:00-17:00"]),
    ("from 10 to 2 tomorrow", "window", ["2026-11-20 10:00-14:00"]),
    ("11-1pm tomorrow", "window", ["2026-11-20 11:00-13:00"]),
    ("before noon tomorrow", "window", ["2026-11-20 08:00-12:00"]),
    ("after lunch on saturday", "window", ["2026-11-21 14:00-21:00"]),
    ("at 10.30 on monday", "exact", ["2026-11-23 10:30"]),
    ("15h30 tomorrow", "exact", ["2026-11-20 15:30"]),
    ("tue @ 3:30 pm", "exact", ["2026-11-24 15:30"]),
    ("around 4 tomorrow", "exact", ["2026-11-20 16:00"]),
    ("tomorrow at 3 o'clock", "exact", ["2026-11-20 15:00"]),
    # alternatives
    ("tomorrow morning or afternoon", "several", TOMORROW_MORNING_AND_AFTERNOON),
    ("Saturday or Sunday afternoon", "several", days("11-21", "11-22", hours="12:00-17:00")),
    ("Monday morning or Tuesday", "several", ["2026-11-23 08:00-12:00", "2026-11-24 08:00-21:00"]),
    ("tomorrow at 10 or 11", "several", ["2026-11-20 10:00", "2026-11-20 11:00"]),
    ("sat sun", "several", days("11-21", "11-22")),
    ("tues, wed or thurs", "several", days("11-24", "11-25", "11-26")),
    ("either saturday or sunday", "several", days("11-21", "11-22")),
    # dates
    ("December 3, 2026 at 2:30pm", "exact", ["2026-12-03 14:30"]),
    ("3 dec", "window", days("12-03")),
    ("3rd of December", "window", days("12-03")),
    ("the 14th", "window", days("12-14")),
    ("Monday the 14th", "window", days("12-14")),
    ("Tuesday 15/12", "window", days("12-15")),
    ("14.12.", "window", days("12-14")),
    ("14/12/2026", "window", days("12-14")),
    ("may 3", "window", ["2027-05-03 08:00-21:00"]),
    ("14/12-16/12", "several", days("12-14", "12-15", "12-16")),
    # weekdays, weeks and offsets
    ("next week", "several", days("11-23", "11-24", "11-25", "11-26", "11-27", "11-28", "11-29")),
    ("every tuesday", "several", days("11-24", "12-01", "12-08", "12-15", "12-22")),
    ("weeknights", "several", WEEKDAY_EVENINGS),
    ("mon-fri after 5", "several", WEEKDAY_EVENINGS),
    ("evenings", "several", days("11-19", "11-20", "11-21", "11-22", "11-23", hours="17:00-21:00")),
    ("this coming tuesday", "window", days("11-24")),
    ("tuesday's good for me", "window", days("11-24")),
    ("next friday", "several", days("11-20", "11-27")),
    ("next weekend", "several", days("11-21", "11-22", "11-28", "11-29")),
    ("in 3 days", "window", days("11-22")),
    ("a week from now", "window", days("11-26")),
    ("in a fortnight", "window", days("12-03")),
]


@pytest.mark.parametrize(("text", "outcome", "windows"), UNDERSTOOD)
def test_phrases_become_the_windows_they_mean(text: str, outcome: str, windows: list[str]) -> None:
    result = read(text)
    assert described(result) == windows
    assert result.outcome == outcome


NOT_UNDERSTOOD: list[tuple[str, str]] = [
    ("maybe next month", "vague"),
    ("next month", "vague"),
    ("sometime", "vague"),
    ("whenever", "vague"),
    ("anytime", "vague"),
    ("in december", "vague"),
    ("in 2 months", "vague"),
    ("sometime soon, maybe tuesday", "vague"),
    ("31/02", "invalid_date"),
    ("30/02/2027", "invalid_date"),
    ("12/14 at 10:30", "invalid_date"),  # day first: there is no 14th month
    ("tomorrow 13pm", "invalid_time"),
    ("tomorrow at 25:00", "invalid_time"),
    ("not tuesday", "negation"),
    ("any day but monday", "negation"),
    ("tuesday is busy", "negation"),
    ("evening at 3pm", "contradictory"),
    ("morning after 3", "contradictory"),
    ("Tuesday 14/12", "contradictory"),  # the 14th is a Monday
    ("tomorrow saturday", "contradictory"),
    ("after 9pm", "outside_hours"),
    ("between 10pm and 11pm", "outside_hours"),
    ("14/12/2030", "too_far"),
    ("in 2 hours", "unsupported"),
    ("midnight", "unsupported"),
    ("between 3", "incomplete"),
    ("by friday", "incomplete"),
    ("3", "ambiguous_number"),
    ("mañana", "unknown_words"),
    ("tomorrow works unless it rains", "negation"),
    ("tomorrow if the shop is quiet", "unknown_words"),
    ("", "empty"),
    ("   ", "empty"),
    ("hi there", "no_date_or_time"),
    ("x" * 600, "too_long"),
]


@pytest.mark.parametrize(("text", "reason"), NOT_UNDERSTOOD)
def test_vague_or_wrong_answers_are_not_guessed(text: str, reason: str) -> None:
    result = read(text)
    assert isinstance(result, NotUnderstood)
    assert (result.reason, result.outcome, result.kind) == (reason, "not_understood", reason)
    assert result.detail


@pytest.mark.parametrize(
    "text",
    ["yesterday", "last tuesday", "1/11", "Dec 3rd 2020", "today at 8am", "this morning at 9"],
)
def test_days_gone_by_are_past(text: str) -> None:
    result = read(text)
    assert isinstance(result, NotUnderstood)
    assert (result.reason, result.outcome) == ("past", "past")


def test_maybe_next_month_never_becomes_a_weekday() -> None:
    for text in ("maybe next month", "maybe next month, a tuesday", "tuesday or next month"):
        assert isinstance(read(text), NotUnderstood)


def test_month_first_when_the_business_writes_dates_that_way() -> None:
    assert described(read("12/14 at 10:30", day_first=False)) == ["2026-12-14 10:30"]
    assert isinstance(read("14/12", day_first=False), NotUnderstood)
    assert described(read("3/4", day_first=False)) == ["2027-03-04 08:00-21:00"]
    assert described(read("3/4")) == ["2027-04-03 08:00-21:00"]


def test_phrase_kinds_for_stats() -> None:
    kinds = {
        "tomorrow morning": "relative_day",
        "next Tuesday after 3": "weekday",
        "14/12 at 10:30": "date",
        "2026-12-14 10:30": "iso",
        "any weekday evening": "any_day",
        "this weekend": "weekend",
        "next week": "week",
        "in two weeks": "offset",
        "3pm": "time",
        "asap": "asap",
        "tomorrow or 14/12": "mixed",
    }
    for text, kind in kinds.items():
        result = read(text)
        assert isinstance(result, Understood)
        assert result.kind == kind, text


def test_flags_say_what_was_assumed() -> None:
    def flags(text: str) -> set[str]:
        result = read(text)
        assert isinstance(result, Understood)
        return set().union(*(w.flags for w in result.windows))

    assert flags("next friday") == {"ambiguous_day"}
    assert flags("next weekend") == {"ambiguous_day"}
    assert flags("in two weeks") == {"approximate"}
    assert flags("tomorrow after 3") == {"assumed_meridiem"}
    assert flags("tomorrow after 3pm") == set()
    assert flags("around 4pm tomorrow") == {"approximate"}
    assert flags("today") == {"clipped"}
    assert flags("tomorrow at 6:30am") == {"outside_hours"}


def test_asap_with_a_day_keeps_the_day_and_marks_earliest() -> None:
    result = read("asap, tomorrow if possible")
    assert isinstance(result, Understood)
    assert result.earliest
    assert described(result) == days("11-20")
    assert read("asap").earliest  # type: ignore[union-attr]


def test_windows_under_way_start_at_the_next_minute_and_gone_ones_move_on() -> None:
    evening = datetime(2026, 11, 19, 18, 30, 20, tzinfo=EDMONTON)
    assert described(read("this evening", evening)) == ["2026-11-19 18:31-21:00"]
    assert described(read("3pm", evening)) == ["2026-11-20 15:00"]
    late = datetime(2026, 11, 19, 21, 30, tzinfo=EDMONTON)
    assert described(read("evenings", late))[0] == "2026-11-20 17:00-21:00"
    assert isinstance(read("tonight", late), NotUnderstood)


def test_now_in_another_zone_gives_local_windows() -> None:
    result = read("tomorrow morning", NOW.astimezone(UTC))
    assert isinstance(result, Understood)
    assert result.windows[0].start.tzinfo is EDMONTON
    assert described(result) == ["2026-11-20 08:00-12:00"]


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        understand("tomorrow", now=datetime(2026, 11, 19, 9), tz=EDMONTON)  # noqa: DTZ001


def test_the_business_sets_its_day_parts_and_spread() -> None:
    rules = WhenRules(closes=time(22), evening=(time(18), time(22)), spread=3)
    assert described(read("tomorrow evening", rules=rules)) == ["2026-11-20 18:00-22:00"]
    assert described(read("tomorrow after 3", rules=rules)) == ["2026-11-20 15:00-22:00"]
    assert len(described(read("any weekday evening", rules=rules))) == 3
    with pytest.raises(ValueError, match="start before it ends"):
        WhenRules(opens=time(21), closes=time(8))


# -- DST: America/Edmonton springs forward on 2026-03-08 and falls back on 2026-11-01 -----

BEFORE_SPRING = datetime(2026, 3, 7, 10, 0, tzinfo=EDMONTON)
BEFORE_FALL = datetime(2026, 10, 31, 10, 0, tzinfo=EDMONTON)


@pytest.mark.parametrize("text", ["tomorrow at 2:30am", "2026-03-08 02:30", "8/3 at 02:30"])
def test_a_time_the_clock_skips_is_not_understood(text: str) -> None:
    result = read(text, BEFORE_SPRING)
    assert isinstance(result, NotUnderstood)
    assert result.reason == "nonexistent_time"


def test_spring_forward_windows_are_real_instants() -> None:
    result = read("tomorrow at 3am", BEFORE_SPRING)
    assert isinstance(result, Understood)
    (window,) = result.windows
    assert window.start_utc == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # MDT, UTC-6
    morning = read("tomorrow morning", BEFORE_SPRING)
    assert isinstance(morning, Understood)
    assert morning.windows[0].end_utc - morning.windows[0].start_utc == timedelta(hours=4)


def test_a_window_edge_the_clock_skips_is_shifted_and_flagged() -> None:
    rules = WhenRules(opens=time(2, 30))
    result = read("tomorrow before 10am", BEFORE_SPRING, rules=rules)
    assert isinstance(result, Understood)
    (window,) = result.windows
    assert f"{window.start:%H:%M}" == "03:30"
    assert "shifted" in window.flags


def test_a_repeated_time_is_the_first_occurrence_flagged() -> None:
    for text in ("tomorrow at 1:30am", "2026-11-01 01:30"):
        result = read(text, BEFORE_FALL)
        assert isinstance(result, Understood)
        (window,) = result.windows
        assert window.start_utc == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # still MDT
        assert "ambiguous_time" in window.flags
    second_pass = datetime(2026, 11, 1, 1, 45, tzinfo=EDMONTON, fold=1)
    assert isinstance(read("today at 1:30am", second_pass), NotUnderstood)


def test_local_hours_hold_across_the_change() -> None:
    result = read("any weekday evening", datetime(2026, 10, 30, 9, 0, tzinfo=EDMONTON))
    assert isinstance(result, Understood)
    assert {f"{w.start:%H:%M}" for w in result.windows} == {"17:00"}
    offsets = [w.start.utcoffset() for w in result.windows]
    assert offsets[0] == timedelta(hours=-6)
    assert offsets[1] == timedelta(hours=-7)


# -- properties ------------------------------------------------------------------------

ZONES = [EDMONTON, ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]
nows = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
vocabulary = sorted(
    {
        *words.WEEKDAYS,
        *words.MONTHS,
        *words.RELATIVE_DAYS,
        *words.PARTS,
        *words.MODIFIERS,
        *words.CONNECTORS,
        *words.AT_WORDS,
        *words.BEFORE_WORDS,
        *words.OFFSET_UNITS,
        "after", "between", "from", "any", "weekday", "weekend", "week", "tonight", "in",
        "noon", "asap", "the", "of", "3", "10", "14", "2026", "3pm", "10:30", "2-5", "14/12",
        "31/02", "3rd", "-", ",", "or", "a", "two", "1:30am", "2:30am", "2026-03-08",
    }
)  # fmt: skip
phrases = st.lists(st.sampled_from(vocabulary), max_size=12).map(" ".join)
answers = st.one_of(st.text(max_size=200), phrases)


@settings(max_examples=400, deadline=None)
@given(answers, nows, st.sampled_from(ZONES), st.booleans())
def test_never_raises_never_in_the_past_and_always_the_same(
    text: str, now: datetime, tz: ZoneInfo, day_first: bool
) -> None:
    result = understand(text, now=now, tz=tz, day_first=day_first)
    assert result == understand(text, now=now, tz=tz, day_first=day_first)
    if isinstance(result, NotUnderstood):
        assert result.outcome in ("not_understood", "past")
        assert result.reason
        return
    starts = [w.start_utc for w in result.windows]
    assert starts == sorted(starts)
    assert len(result.windows) <= WhenRules().max_windows
    for window in result.windows:
        assert window.start_utc >= now
        assert window.end_utc >= window.start_utc
        assert window.start.tzinfo is tz
    expected = {0: "earliest", 1: "exact" if starts and result.windows[0].exact else "window"}
    assert result.outcome == expected.get(len(starts), "several")


@settings(max_examples=200, deadline=None)
@given(phrases, nows, st.sampled_from(["not", "except", "next month", "sometime", "yesterday"]))
def test_a_negation_or_a_vague_word_anywhere_is_never_guessed(
    text: str, now: datetime, spoiler: str
) -> None:
    result = understand(f"{text} {spoiler}", now=now, tz=EDMONTON)
    assert isinstance(result, NotUnderstood)
