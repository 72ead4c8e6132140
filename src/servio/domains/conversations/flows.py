"""A vertical's conversation, as data: the ``[conversation]`` table of
``verticals/<name>.toml`` — its questions in order (type, validation, re-ask), the
deposit policy and wording, the slot offer and the lifecycle thresholds.

``load_flows()`` reads every vertical file once and validates it; a bad file is refused
with ``InvalidFlow`` naming the file and each problem.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from servio.domains.catalog import service as catalog
from servio.platform.errors import DomainError, NotFound

QuestionType = Literal["text", "choice", "number", "money", "date_window", "yes_no", "image"]


class InvalidFlow(DomainError):
    status = 422
    type = "invalid-conversation-flow"
    title = "The conversation data is not valid"
    description = "A vertical file's [conversation] table is broken; `errors` says where."


class FlowNotFound(NotFound):
    type = "conversation-flow-not-found"
    title = "The business's vertical has no conversation"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    value: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=24)  # a WhatsApp button title's limit
    aliases: list[str] = Field(default_factory=list)


class Question(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: QuestionType
    ask: str = Field(min_length=1, max_length=1000)
    reask: str = Field(min_length=1, max_length=1000)
    optional: bool = False
    options: list[Option] = Field(default_factory=list, max_length=10)
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=500, ge=1, le=4000)
    min: Decimal | None = None
    max: Decimal | None = None
    step: Decimal | None = Field(default=None, gt=0)
    minimums: dict[str, int] = Field(default_factory=dict)  # money: cents per currency
    below_minimum: str | None = None
    must_be: bool | None = None  # yes_no: the only answer that lets the flow go on
    refusal: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError(f"{self.key}: a choice needs at least two options")
        if self.type != "choice" and self.options:
            raise ValueError(f"{self.key}: only a choice has options")
        if len({o.value for o in self.options}) != len(self.options):
            raise ValueError(f"{self.key}: option values repeat")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.key}: min is above max")
        if self.min_length > self.max_length:
            raise ValueError(f"{self.key}: min_length is above max_length")
        if self.minimums and self.type != "money":
            raise ValueError(f"{self.key}: only a money question has minimums")
        if self.minimums and not self.below_minimum:
            raise ValueError(f"{self.key}: minimums need the below_minimum wording")
        if any(len(c) != 3 or not c.isupper() or v < 0 for c, v in self.minimums.items()):
            raise ValueError(f"{self.key}: minimums are cents by ISO 4217 currency code")
        if self.must_be is not None and (self.type != "yes_no" or not self.refusal):
            raise ValueError(f"{self.key}: must_be belongs to a yes_no question with a refusal")
        return self


class Lifecycle(_Strict):
    stale_after_hours: int = Field(default=48, ge=1, le=24 * 90)
    abandoned_after_days: int = Field(default=7, ge=1, le=365)
    max_failures: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _order(self) -> Lifecycle:
        if self.abandoned_after_days * 24 <= self.stale_after_hours:
            raise ValueError("abandoned_after_days must come after stale_after_hours")
        return self


class SlotPolicy(_Strict):
    duration_minutes: int = Field(ge=15, le=12 * 60)
    offer: int = Field(default=3, ge=1, le=10)
    resource_kind: str | None = None


class Deposit(_Strict):
    by: str
    amount_cents: dict[str, int] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=300)
    wording: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _amounts(self) -> Deposit:
        if any(v <= 0 for v in self.amount_cents.values()):
            raise ValueError("deposit amounts are positive cents")
        if "{amount}" not in self.wording:
            raise ValueError("the deposit wording must show {amount}")
        return self


class Keywords(_Strict):
    stop: list[str] = ["STOP", "UNSUBSCRIBE", "STOPALL"]
    start: list[str] = ["START", "UNSTOP", "RESUME"]
    human: list[str] = ["HUMAN", "AGENT", "PERSON", "STAFF"]
    skip: list[str] = ["SKIP", "NONE", "NO", "NOPE", "NO THANKS"]


class Flow(_Strict):
    vertical: str = ""
    greeting: str = Field(min_length=1, max_length=1000)
    done: str = Field(min_length=1, max_length=1000)
    day_first: bool = True
    estimate: bool = False  # feed the answers to the core estimate (cleaning)
    lifecycle: Lifecycle = Lifecycle()
    slots: SlotPolicy | None = None
    deposit: Deposit | None = None
    keywords: Keywords = Keywords()
    opted_out: str = "You are unsubscribed and will get no more messages. Reply START to resume."
    resumed: str = "Welcome back! Let's carry on."
    handover: str = "Thanks, a member of our team will reply to you here shortly."
    too_many_failures: str = "Let me get a member of our team to help you with that."
    questions: list[Question] = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _references(self) -> Flow:
        keys = [q.key for q in self.questions]
        if len(set(keys)) != len(keys):
            raise ValueError("question keys repeat")
        if self.deposit is not None:
            by = next((q for q in self.questions if q.key == self.deposit.by), None)
            if by is None or by.type != "choice":
                raise ValueError(f"deposit.by names no choice question: {self.deposit.by!r}")
            missing = {o.value for o in by.options} - set(self.deposit.amount_cents)
            if missing:
                raise ValueError(f"deposit amounts missing for {sorted(missing)}")
        return self

    def question(self, key: str | None) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def after(self, key: str) -> Question | None:
        keys = [q.key for q in self.questions]
        index = keys.index(key) + 1
        return self.questions[index] if index < len(keys) else None


def parse_flow(data: dict[str, Any], source: str = "vertical") -> Flow | None:
    """The validated flow of one vertical file's data, or None when it has none."""
    table = data.get("conversation")
    if table is None:
        return None
    try:
        return Flow.model_validate({**table, "vertical": str(data.get("name", ""))})
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidFlow(
            f"{source}: {len(errors)} problem(s) in the conversation data.",
            extra={"errors": errors},
        ) from exc


def parse_text(text: str, source: str = "vertical") -> Flow | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFlow(f"{source}: the file is not valid TOML: {exc}.") from exc
    return parse_flow(data, source)


def read_flows(extra_dir: Path | None = None) -> dict[str, Flow]:
    """Every vertical's flow by vertical name; any bad file refuses the whole set."""
    flows = {}
    for name, text in sorted(catalog.vertical_files(extra_dir).items()):
        flow = parse_text(text, name)
        if flow is not None:
            flows[flow.vertical] = flow
    return flows


@cache
def load_flows() -> dict[str, Flow]:
    return read_flows()


def flow_for(vertical: str) -> Flow:
    flow = load_flows().get(vertical)
    if flow is None:
        raise FlowNotFound(f"The {vertical!r} vertical has no conversation.")
    return flow
