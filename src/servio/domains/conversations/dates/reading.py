"""Reading a free-text answer into the pieces of meaning it names.

The text is cut into tokens (words, numbers, clock times, numeric dates) and read left to
right into items: days ("tomorrow", "14/12", "next week"), day filters ("Tuesday",
"weekdays"), times ("3pm", "after 3", "2-5"), day parts ("morning"), connectors ("or")
and problems (an unknown word, a negation, a vague or past phrase, a date that does not
exist). Days that do not depend on the rest of the answer are resolved here against
``today``; everything else is left for ``dates.windows`` to combine.
"""

from __future__ import annotations

from datetime import date, time, timedelta

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
    Token,
    Weekdays,
    day_of_month,
    nearest_date,
    week_of,
    weekend_days,
)

# What a reading rule gives: nothing, one item, or several ("tonight" is a day and a part).
Found = Item | tuple[Item, ...] | None


class Reader:
    """Reads tokens into items; each ``_read_*`` rule consumes what it recognises."""

    def __init__(self, tokens: list[Token], today: date, day_first: bool) -> None:
        self.tokens = [_without_possessive(token) for token in tokens]
        self.pos = 0
        self.today = today
        self.day_first = day_first
        self.items: list[Item] = []

    def read(self) -> list[Item]:
        rules = (
            self._read_phrase,
            self._read_date,
            self._read_time,
            self._read_day_word,
            self._read_offset,
            self._read_plain_word,
        )
        while self.pos < len(self.tokens):
            start = self.pos
            for rule in rules:
                found = rule()
                if found is not None:
                    self.items.extend(found if isinstance(found, tuple) else (found,))
                    break
            if self.pos == start:  # nothing recognised this token
                self.items.append(self._unrecognised())
                self.pos += 1
        return self.items

    def _unrecognised(self) -> Problem:
        token = self._peek()
        if token is not None and token.kind in ("num", "ord", "clock"):
            return Problem("ambiguous_number", f"'{token.text}' alone is not a day or a time")
        return Problem("unknown_words", f"'{self._text()}' is not understood")

    # -- token helpers -------------------------------------------------------------------

    def _peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def _word(self, ahead: int = 0) -> str | None:
        token = self._peek(ahead)
        return token.text if token is not None and token.kind == "word" else None

    def _text(self) -> str:
        token = self._peek()
        return token.text if token is not None else ""

    def _match(self, phrases: tuple[tuple[str, ...], ...]) -> bool:
        for phrase in phrases:
            if all(self._word(n) == w for n, w in enumerate(phrase)):
                self.pos += len(phrase)
                return True
        return False

    # -- rules ---------------------------------------------------------------------------

    def _read_phrase(self) -> Found:
        if self._match(words.ASAP_PHRASES):
            return Marker("asap")
        if self._match((("day", "after", "tomorrow"),)):
            return Days((self.today + timedelta(days=2),), "relative_day")
        if self._match((("later", "today"),)):
            return Days((self.today,), "relative_day")
        if self._match((("during", "the", "week"), ("weekdays",), ("weekday",))):
            return Weekdays(frozenset(range(5)), "any", "any_day")
        if self._match((("weekends",),)):
            return Weekdays(frozenset({5, 6}), "any", "any_day")
        if self._match((("weeknight",), ("weeknights",))):
            return Weekdays(frozenset(range(5)), "any", "any_day"), Part("evening", many=True)
        if self._match(words.ANY_DAY_PHRASES):
            return Weekdays(frozenset(range(7)), "any", "any_day")
        if self._match(words.WHOLE_DAY_PHRASES):
            return Marker("whole_day")
        if self._match((("after", "work"),)):
            return Part("evening")
        return None

    def _read_day_word(self) -> Found:
        word = self._word()
        if word is None:
            return None
        if word in words.MODIFIERS:
            return self._read_modified(words.MODIFIERS[word])
        if word in words.RELATIVE_DAYS:
            self.pos += 1
            return Days((self.today + timedelta(days=words.RELATIVE_DAYS[word]),), "relative_day")
        if word == "tonight":
            self.pos += 1
            return Days((self.today,), "relative_day"), Part("evening")
        if word in words.WEEKDAYS:
            self.pos += 1
            return self._weekday_range(words.WEEKDAYS[word])
        if word in words.WEEKDAY_PLURALS:
            self.pos += 1
            return Weekdays(frozenset({words.WEEKDAY_PLURALS[word]}), "any", "any_day")
        if word == "weekend":
            self.pos += 1
            return weekend_days(self.today, "this")
        return self._read_part()

    def _weekday_range(self, first: int) -> Item:
        """A weekday range ("Monday to Friday", "mon-fri") is any of those days; a lone
        weekday is the coming one."""
        joiner = self._peek()
        last = self._word(1)
        is_joiner = joiner is not None and (
            joiner.kind == "dash" or joiner.text in ("to", "through", "thru", "till", "until")
        )
        if is_joiner and last in words.WEEKDAYS:
            self.pos += 2
            end = words.WEEKDAYS[last]
            span = range(first, end + 1) if end >= first else [*range(first, 7), *range(end + 1)]
            return Weekdays(frozenset(span), "any", "any_day")
        return Weekdays(frozenset({first}), "coming", "weekday")

    def _read_modified(self, mode: str) -> Found:
        self.pos += 1
        if mode == "this" and self._word() == "coming":
            self.pos += 1
            mode = "coming"
        word = self._word()
        if word is not None:
            self.pos += 1
        if word in words.WEEKDAYS:
            return Weekdays(frozenset({words.WEEKDAYS[word]}), mode, "weekday")
        if word == "weekend":
            return weekend_days(self.today, "this" if mode in ("this", "coming") else "next")
        if word == "week":
            if mode in ("this", "coming"):
                return Days(tuple(d for d in week_of(self.today) if d >= self.today), "week")
            return Days(tuple(week_of(self.today + timedelta(days=7))), "week")
        if mode == "this" and word in words.PARTS:
            return Days((self.today,), "relative_day"), Part(words.PARTS[word])
        if word in words.VAGUE_WORDS or word in words.MONTHS:
            return Problem("vague", f"'{mode} {word}' is not a day")
        return Problem("unknown_words", f"'{mode}' needs a day after it")

    def _read_part(self) -> Item | None:
        word = self._word()
        narrow = None
        if word in ("early", "late") and (
            self._word(1) in words.PARTS or self._word(1) in words.PART_PLURALS
        ):
            narrow = word
            self.pos += 1
            word = self._word()
        if word in words.PARTS:
            self.pos += 1
            return Part(words.PARTS[word], narrow)
        if word in words.PART_PLURALS:
            self.pos += 1
            return Part(words.PART_PLURALS[word], narrow, many=True)
        return None

    def _read_offset(self) -> Item | None:
        """An offset ("in two weeks", "in 3 days", "a week from now"): that day, approximate."""
        start = self.pos
        had_in = self._word() == "in"
        if had_in:
            self.pos += 1
        amount = self._amount()
        unit = self._word()
        if amount is None or unit is None:
            self.pos = start
            return None
        if unit in words.OFFSET_UNITS:
            self.pos += 1
            self._match((("from", "now"), ("from", "today"), ("time",)))
            day = self.today + timedelta(days=amount * words.OFFSET_UNITS[unit])
            flag = "approximate" if words.OFFSET_UNITS[unit] >= 7 else None
            return Days((day,), "offset", flag)
        if unit in ("month", "months", "year", "years") or (had_in and unit in ("few", "couple")):
            self.pos += 1
            return Problem("vague", f"'{unit}' is too far or too vague to name a day")
        if unit in words.UNSUPPORTED_WORDS:
            self.pos += 1
            return Problem("unsupported", "times from now in hours or minutes are not taken")
        self.pos = start
        return None

    def _amount(self) -> int | None:
        token = self._peek()
        if token is None:
            return None
        if token.kind == "num" and token.values[0] is not None:
            self.pos += 1
            return token.values[0]
        if token.kind == "word" and (token.text in words.NUMBER_WORDS or token.text in ("a", "an")):
            self.pos += 1
            return words.NUMBER_WORDS.get(token.text, 1)
        return None

    def _read_plain_word(self) -> Item | None:
        token = self._peek()
        if token is None:
            return None
        word = token.text
        problem = self._word_problem(word) if token.kind == "word" else None
        if problem is not None:
            self.pos += 1
            return problem
        if token.kind in ("comma", "dash") or word in words.CONNECTORS:
            self.pos += 1
            return Marker("connector")
        if word in words.MANY_WORDS:
            self.pos += 1
            return Marker("many")
        if word in words.FILLER or word in words.MONTH_ONLY_WITH_DAY:
            self.pos += 1
            return Marker("filler")
        return None

    @staticmethod
    def _word_problem(word: str) -> Problem | None:
        if word in words.NEGATIONS:
            return Problem("negation", f"'{word}' changes the meaning; please name the days")
        if word in words.PAST_WORDS:
            return Problem("past", f"'{word}' points to the past")
        if word in words.VAGUE_WORDS or (
            word in words.MONTHS and word not in words.MONTH_ONLY_WITH_DAY
        ):
            return Problem("vague", f"'{word}' does not name a day")
        if word in words.UNSUPPORTED_WORDS:
            return Problem("unsupported", f"'{word}' is not taken as a time")
        return None

    # -- dates ---------------------------------------------------------------------------

    def _read_date(self) -> Item | None:
        token = self._peek()
        if token is None:
            return None
        if token.kind in ("isodate", "date"):
            self.pos += 1
            first = self._date_token(token)
            return self._date_range(first) if isinstance(first, Days) else first
        if token.kind == "word" and token.text in words.MONTHS:
            return self._month_then_day()
        if token.kind in ("num", "ord"):
            return self._day_then_month(token)
        return None

    def _date_token(self, token: Token) -> Item:
        if token.kind == "isodate":
            full_year, month, day = token.values
            found = nearest_date(self.today, month, day, full_year)
            return self._date_item(found, token.text, "iso")
        first, second, *rest = token.values
        day, month = (first, second) if self.day_first else (second, first)
        year = (rest[0] + 2000 if rest[0] < 100 else rest[0]) if rest else None
        return self._date_item(nearest_date(self.today, month, day, year), token.text, "date")

    def _date_range(self, first: Days) -> Item:
        """A date range ("14/12 - 18/12"): every day from the first to the last, up to a month."""
        dash, second = self._peek(), self._peek(1)
        if dash is None or dash.kind != "dash" or second is None:
            return first
        if second.kind not in ("isodate", "date"):
            return first
        self.pos += 2
        last = self._date_token(second)
        if not isinstance(last, Days):
            return last
        start, end = first.dates[0], last.dates[0]
        if not timedelta(0) <= end - start <= timedelta(days=31):
            return Problem("invalid_date", f"{start} to {end} is not a range of days")
        span = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return Days(tuple(span), first.kind)

    @staticmethod
    def _date_item(found: date | None, text: str, kind: str) -> Item:
        if found is None:
            return Problem("invalid_date", f"{text} is not a date")
        return Days((found,), kind)

    def _day_number(self, ahead: int) -> int | None:
        token = self._peek(ahead)
        if token is None or token.kind not in ("num", "ord"):
            return None
        value = token.values[0]
        return value if 1 <= value <= 31 else None

    def _year(self) -> int | None:
        token = self._peek()
        skip = 1 if token is not None and token.kind == "comma" else 0
        token = self._peek(skip)
        if token is not None and token.kind == "num" and len(token.text) == 4:
            self.pos += skip + 1
            return token.values[0]
        return None

    def _month_then_day(self) -> Item | None:
        """Month then day ("Dec 3rd", "December the 3rd, 2026"); a month alone stays vague."""
        month = words.MONTHS[self._text()]
        skip = 2 if self._word(1) == "the" else 1
        day = self._day_number(skip)
        if day is None:
            return None
        self.pos += skip + 1
        year = self._year()
        return self._date_item(nearest_date(self.today, month, day, year), f"{day}/{month}", "date")

    def _day_then_month(self, token: Token) -> Item | None:
        """Day then month ("3 December", "3rd of Dec 2026"), or "the 14th" on its own."""
        day = self._day_number(0)
        if day is None:
            return None
        skip = 2 if self._word(1) == "of" else 1
        month_word = self._word(skip)
        if month_word in words.MONTHS:
            self.pos += skip + 1
            year = self._year()
            found = nearest_date(self.today, words.MONTHS[month_word], day, year)
            return self._date_item(found, f"{day} {month_word}", "date")
        if token.kind == "ord":
            self.pos += 1
            return self._date_item(day_of_month(self.today, day), token.text, "date")
        return None

    # -- times ---------------------------------------------------------------------------

    def _read_time(self) -> Item | None:
        word = self._word()
        if word == "between":
            return self._range(1, ("and",)) or self._incomplete(word)
        if word == "from":
            return self._range(1, tuple(words.RANGE_JOINERS)) or self._bound(after=True)
        if word in words.AFTER_WORDS:
            return self._bound(after=True) or self._incomplete(word)
        if word in words.BEFORE_WORDS:
            return self._bound(after=False) or self._incomplete(word)
        if word in words.AT_WORDS:
            said = self._time_word(1)
            if said is None:
                return None
            value, used = said
            self.pos += 1 + used
            return value if isinstance(value, Problem) else At(value, words.AT_WORDS[word])
        return self._range(0, tuple(words.RANGE_JOINERS)) or self._bare_time()

    def _incomplete(self, word: str) -> Problem:
        self.pos += 1
        return Problem("incomplete", f"'{word}' needs a time after it")

    def _time_word(self, ahead: int) -> tuple[TimeWord | Problem, int] | None:
        """A time at ``ahead``: a clock ("3pm", "15:00"), a bare hour ("3", "3 o'clock"),
        a dotted time ("10.30") or noon; with the number of tokens it takes."""
        token = self._peek(ahead)
        if token is None:
            return None
        if token.kind == "word" and token.text in words.NOON_WORDS:
            return time(12), 1
        if token.kind == "word" and token.text in words.NUMBER_WORDS:
            token = Token("num", token.text, (words.NUMBER_WORDS[token.text],))
        if token.kind == "clock":
            hour, minute = token.values
            return _clock(hour, minute, token.meridiem, token.literal), 1
        if token.kind == "date" and "." in token.text and len(token.values) == 2:
            hour, minute = token.values
            literal = token.text.startswith("0") or hour >= 13
            return _clock(hour, minute, None, literal), 1
        if token.kind != "num" or len(token.text) > 2:
            return None
        hour = token.values[0]
        used = 2 if self._word(ahead + 1) in words.OCLOCK else 1
        return _clock(hour, 0, None, token.text.startswith("0") or hour >= 13), used

    def _range(self, ahead: int, joiners: tuple[str, ...]) -> Item | None:
        """A time range: "2-5pm", "from 10 to 2", "between 2 and 5"."""
        first = self._time_word(ahead)
        if first is None:
            return None
        joiner = self._peek(ahead + first[1])
        if joiner is None or not (joiner.kind == "dash" or joiner.text in joiners):
            return None
        second = self._time_word(ahead + first[1] + 1)
        if second is None:
            return None
        self.pos += ahead + first[1] + 1 + second[1]
        start, end = first[0], second[0]
        if isinstance(start, Problem):
            return start
        if isinstance(end, Problem):
            return end
        return Bound(start, end)

    def _bound(self, *, after: bool) -> Item | None:
        """An open range: "after 3", "before noon", "after lunch", "by 4" (not "by Friday")."""
        part_word = self._word(1)
        if part_word in words.PARTS:
            self.pos += 2
            part = Part(words.PARTS[part_word])
            return Bound(part, None) if after else Bound(None, part)
        said = self._time_word(1)
        if said is None:
            return None
        value, used = said
        self.pos += 1 + used
        if isinstance(value, Problem):
            return value
        return Bound(value, None) if after else Bound(None, value)

    def _bare_time(self) -> Item | None:
        token = self._peek()
        said = self._time_word(0)
        if token is None or said is None:
            return None
        value, used = said
        bare_hour = token.kind in ("num", "word") and used == 1 and not isinstance(value, time)
        if bare_hour and not self._follows_time_and_connector():
            return None  # "3" alone could be a day, an hour or a count: not guessed
        self.pos += used
        return value if isinstance(value, Problem) else At(value, token.approx)

    def _follows_time_and_connector(self) -> bool:
        """In "at 3 or 4", a bare number right after "<time> or" is another time."""
        said = [i for i in self.items if i != Marker("filler")]
        return len(said) >= 2 and said[-1] == Marker("connector") and isinstance(said[-2], At)


def _without_possessive(token: Token) -> Token:
    """A day's possessive reads as the day: "tuesday's good" is "tuesday good"."""
    stem = token.text.removesuffix("'s")
    if token.kind == "word" and stem != token.text and stem in words.DAY_WORDS:
        return Token("word", stem)
    return token


def _clock(hour: int, minute: int, meridiem: str | None, literal: bool) -> Clock | Problem:
    top = 12 if meridiem else 23
    low = 1 if meridiem else 0
    if not (low <= hour <= top and 0 <= minute <= 59):
        return Problem("invalid_time", f"{hour}:{minute:02d} is not a time of day")
    return Clock(hour, minute, meridiem, literal)
