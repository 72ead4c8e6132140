"""The conversation as a pure state machine: a state, an inbound message and the flow
give the next state and the actions to send. No database, no clock of its own.

Order of rules for each message: an opted-out contact is heard only when they say
START; STOP (or UNSUBSCRIBE) opts out from anywhere; while staff have the conversation
the bot stays quiet; HUMAN (or AGENT) hands over; a quiet conversation wakes up where it
was; otherwise the message answers the current question, which is stored or re-asked
(three failures to one question hand over too).

Images (``media``: references to stored channel messages, ``media:<message id>``) are
attached to the conversation (answer ``_media``) whatever the stage. They answer an
image question (the tattoo flow's reference images); at any other point they are only
attached and the flow carries on where it was, with no failure counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from servio.domains.conversations import answers
from servio.domains.conversations.actions import (
    Action,
    Buttons,
    ChoiceList,
    ChoiceOption,
    DepositRequest,
    Handover,
    Text,
)
from servio.domains.conversations.flows import Flow, Question
from servio.platform.errors import Conflict


class Stage(StrEnum):
    """Where a conversation stands, stored and shown as its name."""

    NEW = "NEW"
    QUALIFYING = "QUALIFYING"
    NEEDS_ARTIST_REVIEW = "NEEDS_ARTIST_REVIEW"
    NEEDS_FOLLOW_UP = "NEEDS_FOLLOW_UP"
    OPTED_OUT = "OPTED_OUT"
    HANDED_OVER = "HANDED_OVER"
    AWAITING_DEPOSIT = "AWAITING_DEPOSIT"
    DEPOSIT_PAID = "DEPOSIT_PAID"
    BOOKING_PENDING = "BOOKING_PENDING"
    BOOKED = "BOOKED"
    REJECTED = "REJECTED"
    ABANDONED = "ABANDONED"
    STALE = "STALE"


STAGES = tuple(Stage)
# Stages a quiet contact can leave behind (the stale job watches these).
WAITING_ON_CONTACT = (Stage.NEW, Stage.QUALIFYING, Stage.NEEDS_FOLLOW_UP, Stage.AWAITING_DEPOSIT)
_PAUSES = (Stage.OPTED_OUT, Stage.HANDED_OVER, Stage.STALE, Stage.ABANDONED)
_OPEN = (
    Stage.NEW,
    Stage.QUALIFYING,
    Stage.NEEDS_ARTIST_REVIEW,
    Stage.NEEDS_FOLLOW_UP,
    Stage.AWAITING_DEPOSIT,
    Stage.DEPOSIT_PAID,
    Stage.BOOKING_PENDING,
)
TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.NEW: frozenset({Stage.QUALIFYING, Stage.REJECTED, *_PAUSES}),
    Stage.QUALIFYING: frozenset(
        {Stage.NEEDS_ARTIST_REVIEW, Stage.NEEDS_FOLLOW_UP, Stage.REJECTED, *_PAUSES}
    ),
    Stage.NEEDS_ARTIST_REVIEW: frozenset(
        {
            Stage.AWAITING_DEPOSIT,
            Stage.NEEDS_FOLLOW_UP,
            Stage.REJECTED,
            Stage.OPTED_OUT,
            Stage.HANDED_OVER,
            Stage.STALE,
        }
    ),
    Stage.NEEDS_FOLLOW_UP: frozenset(
        {
            Stage.QUALIFYING,
            Stage.NEEDS_ARTIST_REVIEW,
            Stage.AWAITING_DEPOSIT,
            Stage.REJECTED,
            *_PAUSES,
        }
    ),
    # A lapsed deposit checkout goes to the studio's follow-up queue (lapses.py).
    Stage.AWAITING_DEPOSIT: frozenset(
        {Stage.DEPOSIT_PAID, Stage.NEEDS_FOLLOW_UP, Stage.REJECTED, *_PAUSES}
    ),
    Stage.DEPOSIT_PAID: frozenset({Stage.BOOKING_PENDING, Stage.HANDED_OVER, Stage.OPTED_OUT}),
    Stage.BOOKING_PENDING: frozenset({Stage.BOOKED, Stage.HANDED_OVER, Stage.OPTED_OUT}),
    Stage.BOOKED: frozenset({Stage.HANDED_OVER, Stage.OPTED_OUT}),
    Stage.REJECTED: frozenset(),
    Stage.OPTED_OUT: frozenset(_OPEN) | {Stage.HANDED_OVER, Stage.BOOKED},
    Stage.HANDED_OVER: frozenset(set(_OPEN) - {Stage.NEW})
    | {Stage.BOOKED, Stage.REJECTED, Stage.OPTED_OUT},
    Stage.STALE: frozenset(_OPEN)
    | {Stage.ABANDONED, Stage.OPTED_OUT, Stage.HANDED_OVER, Stage.REJECTED},
    Stage.ABANDONED: frozenset(_OPEN) | {Stage.OPTED_OUT, Stage.HANDED_OVER, Stage.REJECTED},
}


class IllegalStageTransition(Conflict):
    type = "illegal-stage-transition"
    title = "The conversation cannot move to that stage"
    description = "The stage machine does not allow this move; `allowed` lists the moves."


def check(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalStageTransition(
            f"A conversation in {current} cannot move to {target}.",
            extra={"from": current, "to": target, "allowed": sorted(TRANSITIONS[current])},
        )


@dataclass(frozen=True)
class State:
    stage: str = Stage.NEW
    question: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    opted_out: bool = False
    handed_over: bool = False
    resume_stage: str | None = None

    def to(self, stage: str, **changes: Any) -> State:
        check(self.stage, stage)
        return replace(self, stage=stage, **changes)


@dataclass(frozen=True)
class Step:
    state: State
    actions: list[Action]
    parse: answers.Parse | None = None
    completed: bool = False  # the last question was just answered


def prompt(question: Question, text: str | None = None) -> Action:
    """The question as the channel shows it: buttons for up to three choices, a list
    beyond, plain text otherwise."""
    text = text or question.ask
    if question.type == "yes_no":
        yes_no = [ChoiceOption(id="yes", label="Yes"), ChoiceOption(id="no", label="No")]
        return Buttons(text=text, options=yes_no)
    if question.type != "choice":
        return Text(text=text)
    options = [ChoiceOption(id=o.value, label=o.label) for o in question.options]
    if len(options) <= 3:
        return Buttons(text=text, options=options)
    return ChoiceList(text=text, options=options)


def _word(text: str) -> str:
    return " ".join(text.strip().upper().strip(".!?").split())


MEDIA = "_media"
ATTACHED = "Thanks, we've added the image to your request."


def attach(state: State, media: tuple[str, ...]) -> State:
    """The state with ``media`` kept among the conversation's attachments (once each)."""
    kept = list(state.answers.get(MEDIA) or [])
    new = [ref for ref in media if ref not in kept]
    if not new:
        return state
    return replace(state, answers={**state.answers, MEDIA: kept + new})


def step(
    flow: Flow,
    state: State,
    text: str,
    reply_id: str | None,
    ctx: answers.Context,
    media: tuple[str, ...] = (),
) -> Step:
    word = "" if media else _word(text)
    state = attach(state, media)
    if state.opted_out:
        if word not in flow.keywords.start:
            return Step(state, [])
        back = state.resume_stage or Stage.QUALIFYING
        state = state.to(back, opted_out=False, resume_stage=None)
        return Step(state, [Text(text=flow.resumed), *_current_prompt(flow, state)])
    if word in flow.keywords.stop:
        keep = state.resume_stage if state.stage in _PAUSES else state.stage
        return Step(
            state.to(Stage.OPTED_OUT, opted_out=True, resume_stage=keep),
            [Text(text=flow.opted_out)],
        )
    if state.handed_over:
        return Step(state, [])
    if word in flow.keywords.human:
        return _hand_over(flow, state, "asked")
    if state.stage in (Stage.STALE, Stage.ABANDONED):
        state = state.to(state.resume_stage or Stage.QUALIFYING, resume_stage=None)
    if state.stage == Stage.NEW:
        first = flow.questions[0]
        state = state.to(Stage.QUALIFYING, question=first.key)
        return Step(state, [Text(text=flow.greeting), prompt(first)])
    question = flow.question(state.question) if state.stage == Stage.QUALIFYING else None
    if question is None:
        if media:
            quiet = state.stage in (Stage.REJECTED, Stage.BOOKED)
            return Step(state, [] if quiet else [Text(text=ATTACHED)])
        return _after_flow(state, reply_id)
    if media and question.type != "image":
        return Step(state, [])  # attached; the question asked still waits for its answer
    return _answer(flow, state, question, text, reply_id, ctx, media)


def _current_prompt(flow: Flow, state: State) -> list[Action]:
    question = flow.question(state.question) if state.stage == Stage.QUALIFYING else None
    return [prompt(question)] if question is not None else []


def _hand_over(flow: Flow, state: State, reason: str) -> Step:
    keep = state.resume_stage if state.stage in _PAUSES else state.stage
    text = flow.handover if reason == "asked" else flow.too_many_failures
    state = state.to(Stage.HANDED_OVER, handed_over=True, resume_stage=keep)
    return Step(state, [Handover(text=text, reason="asked" if reason == "asked" else "failures")])


def _answer(
    flow: Flow,
    state: State,
    question: Question,
    text: str,
    reply_id: str | None,
    ctx: answers.Context,
    media: tuple[str, ...] = (),
) -> Step:
    reading = answers.read(question, text, reply_id, ctx, media)
    result = reading.result
    if isinstance(result, answers.Refused):
        if result.refusal:
            state = state.to(Stage.REJECTED, question=None)
            return Step(state, [Text(text=result.reask)], reading.parse)
        failures = {**state.failures, question.key: state.failures.get(question.key, 0) + 1}
        state = replace(state, failures=failures)
        if failures[question.key] >= flow.lifecycle.max_failures:
            handed = _hand_over(flow, state, "failures")
            return Step(handed.state, handed.actions, reading.parse)
        return Step(state, [prompt(question, result.reask)], reading.parse)
    stored = {**state.answers, question.key: result.value}
    nxt = flow.after(question.key)
    if nxt is not None:
        state = replace(state, answers=stored, question=nxt.key)
        return Step(state, [prompt(nxt)], reading.parse)
    done = Stage.NEEDS_ARTIST_REVIEW if flow.deposit is not None else Stage.NEEDS_FOLLOW_UP
    state = state.to(done, answers=stored, question=None)
    return Step(state, [Text(text=flow.done)], reading.parse, completed=True)


def _after_flow(state: State, reply_id: str | None) -> Step:
    """A message once the questions are done: a slot picked from the offer is noted."""
    offered = {s["id"]: s for s in state.answers.get("_offered", [])}
    if reply_id in offered and state.stage in (Stage.NEEDS_ARTIST_REVIEW, Stage.AWAITING_DEPOSIT):
        chosen = offered[reply_id]
        state = replace(state, answers={**state.answers, "slot": chosen})
        when = chosen["local_start"]
        confirm = state.stage != Stage.AWAITING_DEPOSIT  # awaiting it, the checkout link follows
        later = " The artist will confirm the time with you." if confirm else ""
        return Step(state, [Text(text=f"Noted: {when}.{later}")])
    if state.stage in (Stage.REJECTED, Stage.BOOKED):
        return Step(state, [])
    return Step(
        state, [Text(text="Thanks, we have your request. Reply HUMAN to talk to the team.")]
    )


def deposit_for(flow: Flow, state: State, currency: str) -> DepositRequest | None:
    """The deposit the flow's policy asks for these answers, when it has one."""
    policy = flow.deposit
    if policy is None:
        return None
    amount = policy.amount_cents.get(str(state.answers.get(policy.by)))
    if amount is None:
        amount = max(policy.amount_cents.values())
    text = policy.wording.format(amount=answers.money_text(amount, currency))
    return DepositRequest(text=text, amount_cents=amount, currency=currency, reason=policy.reason)


def on_stage(flow: Flow, state: State, currency: str) -> list[Action]:
    """What the contact is told when staff move the conversation to ``state.stage``."""
    if state.stage == Stage.AWAITING_DEPOSIT:
        deposit = deposit_for(flow, state, currency)
        return [deposit] if deposit is not None else []
    return []
