"""The English words people use to say when they would like to come in.

Only the words listed here are understood; any other word makes the whole answer not
understood, because an unknown word may be the one that changes its meaning ("not",
"except", "booked"). Filler words are the polite padding around a date ("I'd love",
"works for me") and carry no meaning of their own.
"""

from __future__ import annotations

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "weds": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip

WEEKDAY_PLURALS: dict[str, int] = {
    "mondays": 0, "tuesdays": 1, "wednesdays": 2, "thursdays": 3,
    "fridays": 4, "saturdays": 5, "sundays": 6,
}  # fmt: skip

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip

# "may" is also a verb ("I may come Tuesday"): it names a month only beside a day number.
MONTH_ONLY_WITH_DAY = frozenset({"may"})

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

RELATIVE_DAYS: dict[str, int] = {
    "today": 0,
    "tomorrow": 1, "tmr": 1, "tmrw": 1, "tomorow": 1, "tommorow": 1, "tommorrow": 1,
}  # fmt: skip

DAY_WORDS = frozenset({*WEEKDAYS, *RELATIVE_DAYS, "tonight", "weekend"})

# Day parts by name; the hours themselves are rules (WhenRules) so a business can move them.
PARTS: dict[str, str] = {
    "morning": "morning", "afternoon": "afternoon", "evening": "evening",
    "night": "evening", "lunch": "lunch", "lunchtime": "lunch",
}  # fmt: skip
PART_PLURALS: dict[str, str] = {
    "mornings": "morning", "afternoons": "afternoon", "evenings": "evening",
    "nights": "evening", "lunchtimes": "lunch",
}  # fmt: skip
PART_HINTS: dict[str, str] = {"morning": "am", "afternoon": "pm", "evening": "pm", "lunch": "pm"}

NOON_WORDS = frozenset({"noon", "midday"})

MODIFIERS: dict[str, str] = {
    "this": "this", "next": "next", "coming": "coming", "upcoming": "coming",
    "following": "next",
}  # fmt: skip

ASAP_PHRASES: tuple[tuple[str, ...], ...] = (
    ("as", "soon", "as", "possible"),
    ("as", "early", "as", "possible"),
    ("earliest", "possible"),
    ("first", "available"),
    ("right", "away"),
    ("straight", "away"),
    ("asap",),
    ("earliest",),
    ("soonest",),
    ("immediately",),
)

WHOLE_DAY_PHRASES: tuple[tuple[str, ...], ...] = (
    ("any", "time"),
    ("all", "day"),
    ("whole", "day"),
    ("full", "day"),
    ("anytime",),
)

ANY_DAY_PHRASES: tuple[tuple[str, ...], ...] = (
    ("any", "day"),
    ("every", "day"),
    ("anyday",),
    ("everyday",),
)

MANY_WORDS = frozenset({"any", "every", "each"})

OFFSET_UNITS: dict[str, int] = {
    "day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14,
}  # fmt: skip

AFTER_WORDS = frozenset({"after"})
BEFORE_WORDS = frozenset({"before", "until", "till", "til", "by"})
RANGE_JOINERS = frozenset({"to", "till", "until", "til", "through", "thru"})
AT_WORDS: dict[str, bool] = {  # word -> the time is approximate
    "at": False, "around": True, "about": True, "approximately": True, "approx": True,
    "roughly": True,
}  # fmt: skip
OCLOCK = frozenset({"o'clock", "oclock"})

CONNECTORS = frozenset({"or", "and", "either", "otherwise", "also"})

NEGATIONS = frozenset({
    "not", "no", "don't", "dont", "doesn't", "doesnt", "can't", "cant", "cannot",
    "won't", "wont", "isn't", "isnt", "aren't", "arent", "except", "but", "besides",
    "without", "other", "busy", "unavailable", "never", "neither", "nor", "nope",
    "impossible", "avoid", "exclude", "excluding", "unless", "instead", "booked",
})  # fmt: skip

PAST_WORDS = frozenset({"yesterday", "last", "ago", "previous"})

VAGUE_WORDS = frozenset({
    "sometime", "sometimes", "someday", "some", "whenever", "soon", "later", "month",
    "months", "year", "years", "few", "couple", "several", "eventually", "flexible",
    "whatever", "tbd", "tba", "summer", "winter", "spring", "autumn", "fall", "holiday",
    "holidays", "christmas", "easter", "season", "early", "late", "mid", "middle",
    "beginning", "start", "end", "something",
})  # fmt: skip

UNSUPPORTED_WORDS = frozenset({"midnight", "hour", "hours", "minute", "minutes", "min", "mins"})

FILLER = frozenset({
    "i", "i'm", "im", "i'd", "i'll", "ill", "we", "we're", "we'd", "me", "my", "us", "our",
    "you", "your", "it", "it's", "its", "that", "that's", "thats", "is", "are", "be", "am",
    "will", "would", "could", "can", "shall", "should", "might", "do", "does", "go", "come",
    "drop", "pop", "get", "book", "make", "free", "available", "availability", "open",
    "works", "work", "working", "suits", "suit", "good", "great", "fine", "ok", "okay",
    "perfect", "best", "better", "ideal", "ideally", "preferably", "prefer", "preferred",
    "like", "love", "want", "wanna", "need", "please", "pls", "plz", "thanks", "thank",
    "thx", "cheers", "hi", "hello", "hey", "yes", "yeah", "yep", "sure", "maybe",
    "perhaps", "possibly", "probably", "hopefully", "just", "too", "so", "then", "well",
    "really", "definitely", "for", "to", "of", "in", "on", "the", "a", "an", "time",
    "day", "slot", "appointment", "session", "booking", "consult", "consultation",
    "visit", "how", "what", "what's", "there", "here", "able", "anything", "if",
    "possible", "convenient", "around", "about", "from", "now", "there's", "have",
    "preference", "else",
})  # fmt: skip
