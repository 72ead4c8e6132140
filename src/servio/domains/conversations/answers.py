"""Reading one answer to one question: a value to store, or a refusal with the re-ask.

Pure functions of the question, the text (or the id of a button the contact pressed)
and the context (now, the business's time zone and currency). Free-text dates go
through ``when.understand``; its outcome comes back for the stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from servio.domains.conversations.dates import Understood, understand
from servio.domains.conversations.flows import Keywords, Question

DEFAULT_KEYWORDS = Keywords()


@dataclass(frozen=True)
class Context:
    now: datetime
    tz: ZoneInfo
    currency: str
    day_first: bool = True
    keywords: Keywords = DEFAULT_KEYWORDS


@dataclass(frozen=True)
class Accepted:
    value: Any


@dataclass(frozen=True)
class Refused:
    reask: str
    refusal: bool = False  # a gate answered the wrong way: the conversation ends


@dataclass(frozen=True)
class Parse:
    """How a free-text date answer was read, for the stats."""

    outcome: str  # "success" or "reject"
    kind: str


@dataclass(frozen=True)
class Reading:
    result: Accepted | Refused
    parse: Parse | None = None


YES = {"yes", "y", "yeah", "yep", "yup", "sure", "i am", "correct", "true", "of course", "ok"}
NO = {"no", "n", "nope", "nah", "i am not", "not yet", "false"}
_MONEY = re.compile(r"^(?:[a-z]{3}\s*)?[$€£]?\s*(\d[\d,]*(?:\.\d{1,2})?)\s*(k)?\s*(?:[a-z]{3})?$")
_URL = re.compile(r"^(https?://\S+|media:\S+)$")


def _clean(text: str) -> str:
    return " ".join(text.strip().split())


def _key(text: str) -> str:
    return _clean(text).lower().strip(" .!?")


def money_text(cents: int, currency: str) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole:,}.{rest:02d} {currency}" if rest else f"{whole:,} {currency}"


def read(
    question: Question,
    text: str,
    reply_id: str | None,
    ctx: Context,
    media: tuple[str, ...] = (),
) -> Reading:
    """The answer ``text`` (or ``reply_id``, or the images in ``media``) gives ``question``."""
    if question.type == "image" and media:
        return Reading(Accepted(list(media)))
    if question.optional and _key(text).upper() in ctx.keywords.skip:
        return Reading(Accepted(None))
    match question.type:
        case "text":
            return Reading(_text(question, text))
        case "choice":
            return Reading(_choice(question, text, reply_id))
        case "number":
            return Reading(_number(question, text))
        case "money":
            return Reading(_money(question, text, ctx.currency))
        case "yes_no":
            return Reading(_yes_no(question, text, reply_id))
        case "image":
            found = _URL.match(_clean(text))
            return Reading(Accepted([found.group(1)]) if found else Refused(question.reask))
        case "date_window":
            return _dates(question, text, ctx)
    raise AssertionError(question.type)  # pragma: no cover


def _text(question: Question, text: str) -> Accepted | Refused:
    value = _clean(text)
    if not question.min_length <= len(value) <= question.max_length:
        return Refused(question.reask)
    return Accepted(value)


def _choice(question: Question, text: str, reply_id: str | None) -> Accepted | Refused:
    said = _key(reply_id or text)
    for number, option in enumerate(question.options, start=1):
        names = {option.value, option.value.replace("_", " "), option.label.lower(), str(number)}
        names |= {alias.lower() for alias in option.aliases}
        if said in names:
            return Accepted(option.value)
    return Refused(question.reask)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(_clean(text).replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _number(question: Question, text: str) -> Accepted | Refused:
    value = _decimal(text)
    if (
        value is None
        or (question.min is not None and value < question.min)
        or (question.max is not None and value > question.max)
        or (question.step is None and value != value.to_integral_value())
        or (question.step is not None and value % question.step != 0)
    ):
        return Refused(question.reask)
    return Accepted(int(value) if value == value.to_integral_value() else str(value))


def _money(question: Question, text: str, currency: str) -> Accepted | Refused:
    found = _MONEY.match(_key(text))
    amount = _decimal(found.group(1)) if found else None
    if amount is None or not found:
        return Refused(question.reask)
    cents = int(amount * (1000 if found.group(2) else 1) * 100)
    if question.max is not None and cents > question.max:
        return Refused(question.reask)
    minimum = question.minimums.get(currency)
    if minimum is not None and cents < minimum and question.below_minimum:
        return Refused(question.below_minimum.format(minimum=money_text(minimum, currency)))
    return Accepted({"amount_cents": cents, "currency": currency})


def _yes_no(question: Question, text: str, reply_id: str | None) -> Accepted | Refused:
    said = _key(reply_id or text)
    value = True if said in YES else False if said in NO else None
    if value is None:
        return Refused(question.reask)
    if question.must_be is not None and value != question.must_be:
        return Refused(question.refusal or question.reask, refusal=True)
    return Accepted(value)


def _dates(question: Question, text: str, ctx: Context) -> Reading:
    found = understand(text, now=ctx.now, tz=ctx.tz, day_first=ctx.day_first)
    if not isinstance(found, Understood) or not found.windows:
        return Reading(Refused(question.reask), Parse("reject", found.kind))
    windows = [
        {"start": w.start.isoformat(), "end": w.end.isoformat(), "flags": sorted(w.flags)}
        for w in found.windows
    ]
    value = {"text": _clean(text), "kind": found.kind, "windows": windows}
    return Reading(Accepted(value), Parse("success", found.kind))
