"""The conversation machine, rule by rule: where STOP, START and HUMAN leave and resume
from every kind of stage, waking STALE and ABANDONED conversations, images at each
point (closed conversations stay quiet), failures up to the hand-over, the offer's
pick, the deposit asked on AWAITING_DEPOSIT (or nothing without a policy) and how a
question is shown (three choices are buttons, four a list)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from servio.domains.conversations import answers
from servio.domains.conversations.actions import (
    Buttons,
    ChoiceList,
    ChoiceOption,
    DepositRequest,
    Handover,
    Text,
)
from servio.domains.conversations.flows import Deposit, Flow, Keywords, Option, Question
from servio.domains.conversations.machine import (
    ATTACHED,
    MEDIA,
    IllegalStageTransition,
    State,
    Step,
    attach,
    check,
    deposit_for,
    on_stage,
    prompt,
    step,
)

CTX = answers.Context(
    now=datetime(2027, 6, 2, 16, tzinfo=UTC), tz=ZoneInfo("America/Edmonton"), currency="CAD"
)
ADULT = Question(
    key="adult",
    type="yes_no",
    ask="Are you 18 or over?",
    reask="Please answer yes or no.",
    must_be=True,
    refusal="Sorry, we only tattoo adults.",
)
NAME = Question(key="name", type="text", ask="Your name?", reask="Please tell us your name.")
SIZE = Question(
    key="size",
    type="choice",
    ask="Small or large?",
    reask="Pick small or large.",
    options=[Option(value="small", label="Small"), Option(value="large", label="Large")],
)
PHOTO = Question(key="photo", type="image", ask="A reference image?", reask="Send an image.")
DEPOSIT = Deposit(
    by="size",
    amount_cents={"small": 50_00, "large": 100_00},
    reason="Holds the artist's time",
    wording="A deposit of {amount} holds your time.",
)
TATTOO = Flow(
    greeting="Hi!",
    done="Thanks, the artist will review it.",
    deposit=DEPOSIT,
    keywords=Keywords(human=["HUMAN", "TALK TO A PERSON"]),
    questions=[ADULT, NAME, SIZE, PHOTO],
)
PLAIN = TATTOO.model_copy(update={"deposit": None, "done": "Thanks, we will follow up."})
THANKS = Text(text="Thanks, we have your request. Reply HUMAN to talk to the team.")


def say(state: State, text: str, *, flow: Flow = TATTOO, reply_id: str | None = None) -> Step:
    return step(flow, state, text, reply_id, CTX)


def send_image(state: State, *refs: str, flow: Flow = TATTOO) -> Step:
    return step(flow, state, "", None, CTX, media=refs)


def asking(key: str, **changes: Any) -> State:
    return State(stage="QUALIFYING", question=key, **changes)


def test_three_choices_are_buttons_four_are_a_list() -> None:
    options = [Option(value=v, label=v.title()) for v in ("red", "green", "blue", "black")]
    three = Question(key="c", type="choice", ask="Colour?", reask="?", options=options[:3])
    four = three.model_copy(update={"options": options})
    shown = [ChoiceOption(id=o.value, label=o.label) for o in options]
    assert prompt(three) == Buttons(text="Colour?", options=shown[:3])
    assert prompt(four) == ChoiceList(text="Colour?", options=shown)
    assert prompt(four, "Which colour?") == ChoiceList(text="Which colour?", options=shown)


def test_yes_no_is_two_buttons_and_other_questions_plain_text() -> None:
    yes_no = [ChoiceOption(id="yes", label="Yes"), ChoiceOption(id="no", label="No")]
    assert prompt(ADULT) == Buttons(text="Are you 18 or over?", options=yes_no)
    assert prompt(ADULT, "Yes or no?") == Buttons(text="Yes or no?", options=yes_no)
    assert prompt(NAME) == Text(text="Your name?")
    assert prompt(NAME, "") == Text(text="Your name?")
    assert prompt(PHOTO, "Another?") == Text(text="Another?")


def test_a_new_conversation_greets_and_asks_the_first_question() -> None:
    got = say(State(), "hello")
    assert got == Step(
        State(stage="QUALIFYING", question="adult"), [Text(text="Hi!"), prompt(ADULT)]
    )


def test_answers_are_stored_in_turn_and_the_last_one_completes_the_flow() -> None:
    first = say(asking("adult"), "Yes")
    assert first == Step(asking("name", answers={"adult": True}), [prompt(NAME)])
    second = say(first.state, "  Ada   Lovelace ")
    assert second.state == asking("size", answers={"adult": True, "name": "Ada Lovelace"})
    assert second.actions == [prompt(SIZE)]
    third = say(second.state, "", reply_id="large")
    assert (third.state.question, third.actions, third.completed) == (
        "photo",
        [prompt(PHOTO)],
        False,
    )
    done = say(third.state, "https://example.com/koi.png")
    assert done == Step(
        State(
            stage="NEEDS_ARTIST_REVIEW",
            answers={
                "adult": True,
                "name": "Ada Lovelace",
                "size": "large",
                "photo": ["https://example.com/koi.png"],
            },
        ),
        [Text(text="Thanks, the artist will review it.")],
        completed=True,
    )


def test_without_a_deposit_policy_the_flow_ends_in_follow_up() -> None:
    done = say(asking("photo"), "media:abc", flow=PLAIN)
    assert done.state.stage == "NEEDS_FOLLOW_UP"
    assert done.state.question is None
    assert done.actions == [Text(text="Thanks, we will follow up.")]
    assert done.completed


def test_a_gate_answered_the_wrong_way_rejects_and_then_stays_quiet() -> None:
    got = say(asking("adult"), "no")
    assert got == Step(
        State(stage="REJECTED", question=None), [Text(text="Sorry, we only tattoo adults.")]
    )
    assert say(got.state, "please?") == Step(got.state, [])


def test_failures_are_counted_per_question_and_the_third_hands_over() -> None:
    state = asking("name", failures={"adult": 2})
    once = say(state, "   ")
    assert once == Step(
        asking("name", failures={"adult": 2, "name": 1}),
        [Text(text="Please tell us your name.")],
    )
    twice = say(once.state, "")
    assert twice.state.failures == {"adult": 2, "name": 2}
    assert twice.state.stage == "QUALIFYING"
    third = say(twice.state, "")
    assert third == Step(
        State(
            stage="HANDED_OVER",
            question="name",
            failures={"adult": 2, "name": 3},
            handed_over=True,
            resume_stage="QUALIFYING",
        ),
        [
            Handover(
                text="Let me get a member of our team to help you with that.", reason="failures"
            )
        ],
    )


def test_stop_from_qualifying_then_start_asks_the_question_again() -> None:
    stopped = say(asking("name"), " stop! ")
    assert stopped == Step(
        State(stage="OPTED_OUT", question="name", opted_out=True, resume_stage="QUALIFYING"),
        [Text(text=TATTOO.opted_out)],
    )
    assert say(stopped.state, "Ada") == Step(stopped.state, [])
    back = say(stopped.state, "Start")
    assert back == Step(asking("name"), [Text(text=TATTOO.resumed), prompt(NAME)])


@pytest.mark.parametrize("stage", ["AWAITING_DEPOSIT", "NEEDS_ARTIST_REVIEW", "NEEDS_FOLLOW_UP"])
def test_stop_and_start_from_after_the_questions_resume_that_stage(stage: str) -> None:
    stopped = say(State(stage=stage), "UNSUBSCRIBE")
    assert stopped.state == State(stage="OPTED_OUT", opted_out=True, resume_stage=stage)
    back = say(stopped.state, "resume")
    assert back == Step(State(stage=stage), [Text(text=TATTOO.resumed)])


@pytest.mark.parametrize("paused", ["STALE", "ABANDONED", "HANDED_OVER"])
def test_stop_from_a_pause_keeps_the_stage_the_pause_would_resume(paused: str) -> None:
    state = State(stage=paused, resume_stage="NEEDS_FOLLOW_UP", handed_over=paused == "HANDED_OVER")
    stopped = say(state, "stop")
    assert stopped.state.stage == "OPTED_OUT"
    assert stopped.state.resume_stage == "NEEDS_FOLLOW_UP"
    assert say(stopped.state, "start").state.stage == "NEEDS_FOLLOW_UP"


def test_start_without_a_stage_to_resume_goes_back_to_qualifying() -> None:
    state = State(stage="OPTED_OUT", opted_out=True)
    assert say(state, "start").state == State(stage="QUALIFYING")


def test_human_hands_over_and_remembers_where_it_was() -> None:
    got = say(asking("size"), "human")
    assert got == Step(
        State(stage="HANDED_OVER", question="size", handed_over=True, resume_stage="QUALIFYING"),
        [Handover(text=TATTOO.handover, reason="asked")],
    )
    assert say(got.state, "hello?") == Step(got.state, [])
    assert say(got.state, "HUMAN") == Step(got.state, [])


def test_human_keywords_are_read_as_words() -> None:
    got = say(State(stage="AWAITING_DEPOSIT"), "  talk to   a person?")
    assert got.state == State(
        stage="HANDED_OVER", handed_over=True, resume_stage="AWAITING_DEPOSIT"
    )


def test_human_from_a_pause_keeps_the_stage_the_pause_would_resume() -> None:
    got = say(State(stage="STALE", resume_stage="NEEDS_FOLLOW_UP"), "Human.")
    assert got.state == State(stage="HANDED_OVER", handed_over=True, resume_stage="NEEDS_FOLLOW_UP")


@pytest.mark.parametrize("quiet", ["STALE", "ABANDONED"])
def test_a_quiet_conversation_wakes_where_it_was(quiet: str) -> None:
    state = State(stage=quiet, question="name", resume_stage="QUALIFYING")
    got = say(state, "Ada")
    assert got == Step(asking("size", answers={"name": "Ada"}), [prompt(SIZE)])
    later = say(State(stage=quiet, resume_stage="NEEDS_FOLLOW_UP"), "any news?")
    assert later == Step(State(stage="NEEDS_FOLLOW_UP"), [THANKS])


def test_an_abandoned_conversation_without_a_stage_to_resume_qualifies_again() -> None:
    got = say(State(stage="ABANDONED", question="name"), "Ada")
    assert got.state == asking("size", answers={"name": "Ada"})


def test_an_image_beside_a_question_that_wants_text_is_kept_and_the_question_waits() -> None:
    state = asking("name", failures={"name": 1})
    got = send_image(state, "media:m1")
    assert got == Step(asking("name", failures={"name": 1}, answers={MEDIA: ["media:m1"]}), [])


def test_an_image_answers_an_image_question() -> None:
    got = send_image(asking("photo"), "media:m1", "media:m2")
    assert got.state.answers == {
        MEDIA: ["media:m1", "media:m2"],
        "photo": ["media:m1", "media:m2"],
    }
    assert got.completed


def test_an_image_after_the_questions_is_acknowledged_and_closed_ones_stay_quiet() -> None:
    got = send_image(State(stage="NEEDS_ARTIST_REVIEW"), "media:m1")
    assert got == Step(
        State(stage="NEEDS_ARTIST_REVIEW", answers={MEDIA: ["media:m1"]}), [Text(text=ATTACHED)]
    )
    for closed in ("REJECTED", "BOOKED"):
        quiet = send_image(State(stage=closed), "media:m1")
        assert quiet == Step(State(stage=closed, answers={MEDIA: ["media:m1"]}), [])


def test_an_image_is_never_read_as_a_keyword_and_is_kept_while_opted_out() -> None:
    got = step(TATTOO, asking("name"), "STOP", None, CTX, media=("media:m1",))
    assert got.state.stage == "QUALIFYING"
    assert not got.state.opted_out
    opted_out = State(stage="OPTED_OUT", opted_out=True)
    got = step(TATTOO, opted_out, "START", None, CTX, media=("media:m1",))
    assert got == Step(State(stage="OPTED_OUT", opted_out=True, answers={MEDIA: ["media:m1"]}), [])


def test_attach_keeps_each_image_once_in_order() -> None:
    state = State(answers={MEDIA: ["media:a"]})
    assert attach(state, ("media:a",)) is state
    assert attach(state, ()) is state
    assert attach(state, ("media:b", "media:a", "media:c")).answers == {
        MEDIA: ["media:a", "media:b", "media:c"]
    }
    assert attach(State(), ("media:x",)).answers == {MEDIA: ["media:x"]}


OFFERED = {"_offered": [{"id": "slot:1", "local_start": "Wed 2 Jun 10:00"}]}


def test_a_slot_picked_from_the_offer_is_noted() -> None:
    review = say(State(stage="NEEDS_ARTIST_REVIEW", answers=OFFERED), "", reply_id="slot:1")
    assert review.state.answers["slot"] == {"id": "slot:1", "local_start": "Wed 2 Jun 10:00"}
    assert review.actions == [
        Text(text="Noted: Wed 2 Jun 10:00. The artist will confirm the time with you.")
    ]
    paying = say(State(stage="AWAITING_DEPOSIT", answers=OFFERED), "", reply_id="slot:1")
    assert paying.actions == [Text(text="Noted: Wed 2 Jun 10:00.")]
    assert paying.state.answers["slot"]["id"] == "slot:1"


def test_a_pick_outside_the_offer_or_its_stages_is_only_thanked() -> None:
    unknown = State(stage="NEEDS_ARTIST_REVIEW", answers=OFFERED)
    assert say(unknown, "", reply_id="slot:9") == Step(unknown, [THANKS])
    follow_up = State(stage="NEEDS_FOLLOW_UP", answers=OFFERED)
    assert say(follow_up, "", reply_id="slot:1") == Step(follow_up, [THANKS])
    booked = State(stage="BOOKED", answers=OFFERED)
    assert say(booked, "thanks!") == Step(booked, [])


def test_the_deposit_follows_the_answer_or_the_largest_amount() -> None:
    large = State(stage="AWAITING_DEPOSIT", answers={"size": "large"})
    assert deposit_for(TATTOO, large, "CAD") == DepositRequest(
        text="A deposit of 100 CAD holds your time.",
        amount_cents=100_00,
        currency="CAD",
        reason="Holds the artist's time",
    )
    small = State(stage="AWAITING_DEPOSIT", answers={"size": "small"})
    assert deposit_for(TATTOO, small, "EUR") == DepositRequest(
        text="A deposit of 50 EUR holds your time.",
        amount_cents=50_00,
        currency="EUR",
        reason="Holds the artist's time",
    )
    unknown = State(stage="AWAITING_DEPOSIT", answers={})
    got = deposit_for(TATTOO, unknown, "CAD")
    assert got is not None
    assert got.amount_cents == 100_00
    assert deposit_for(PLAIN, large, "CAD") is None


def test_on_stage_asks_the_deposit_only_when_awaiting_one() -> None:
    large = State(stage="AWAITING_DEPOSIT", answers={"size": "large"})
    assert on_stage(TATTOO, large, "CAD") == [deposit_for(TATTOO, large, "CAD")]
    assert on_stage(PLAIN, large, "CAD") == []  # no policy: no checkout to send
    review = State(stage="NEEDS_ARTIST_REVIEW", answers={"size": "large"})
    assert on_stage(TATTOO, review, "CAD") == []


def test_an_illegal_move_says_what_is_allowed() -> None:
    check("QUALIFYING", "NEEDS_ARTIST_REVIEW")
    with pytest.raises(IllegalStageTransition) as refused:
        check("BOOKED", "QUALIFYING")
    assert refused.value.detail == "A conversation in BOOKED cannot move to QUALIFYING."
    assert refused.value.extra == {
        "from": "BOOKED",
        "to": "QUALIFYING",
        "allowed": ["HANDED_OVER", "OPTED_OUT"],
    }
    with pytest.raises(IllegalStageTransition):
        State(stage="REJECTED").to("QUALIFYING")
    assert State().to("QUALIFYING", question="adult") == asking("adult")


WHEN = Question(key="when", type="date_window", ask="When suits you?", reask="Which day?")
BUDGET = Question(key="budget", type="money", ask="Your budget?", reask="An amount, please.")
DATES = Flow(greeting="Hi!", done="Thanks!", questions=[WHEN, BUDGET])


def test_each_reply_to_a_date_question_carries_how_it_was_read() -> None:
    once = say(asking("when"), "banana", flow=DATES)
    assert once == Step(
        asking("when", failures={"when": 1}),
        [Text(text="Which day?")],
        answers.Parse("reject", "unknown_words"),
    )
    handed = say(asking("when", failures={"when": 2}), "banana", flow=DATES)
    assert handed.state.stage == "HANDED_OVER"
    assert handed.parse == answers.Parse("reject", "unknown_words")
    read = say(asking("when"), "June 10", flow=DATES)
    assert read.parse == answers.Parse("success", "date")
    assert read.state.question == "budget"
    assert read.state.answers["when"]["kind"] == "date"
    assert read.actions == [prompt(BUDGET)]


def test_the_last_answer_read_as_a_date_completes_with_its_reading() -> None:
    last = DATES.model_copy(update={"questions": [BUDGET, WHEN]})
    done = say(asking("when"), "June 10", flow=last)
    assert done.completed
    assert done.parse == answers.Parse("success", "date")


def test_answers_are_read_in_the_businesss_currency() -> None:
    got = say(asking("budget"), "200", flow=DATES)
    assert got.state.answers == {"budget": {"amount_cents": 200_00, "currency": "CAD"}}


def test_a_question_left_over_from_qualifying_is_not_answered_later() -> None:
    # Handed over mid-questions, then moved on by staff: the old question stays stored
    # but is neither answered nor asked again.
    state = State(stage="NEEDS_FOLLOW_UP", question="name")
    assert say(state, "Ada") == Step(state, [THANKS])
    stopped = State(
        stage="OPTED_OUT", question="name", opted_out=True, resume_stage="NEEDS_FOLLOW_UP"
    )
    back = say(stopped, "start")
    assert back == Step(
        State(stage="NEEDS_FOLLOW_UP", question="name"), [Text(text=TATTOO.resumed)]
    )


def test_a_keyword_must_be_the_whole_message() -> None:
    for text in ("stop x", "Stop by at five", "human x"):
        got = say(asking("name"), text)
        assert got.state.stage == "QUALIFYING"
        assert got.state.answers == {"name": text}


def test_a_stage_the_machine_no_longer_knows_allows_no_move() -> None:
    # A stored stage that is not (or no longer) in the machine is refused as a conflict
    # naming no allowed move, not a server error.
    with pytest.raises(IllegalStageTransition) as refused:
        check("ARCHIVED", "QUALIFYING")
    assert refused.value.extra == {"from": "ARCHIVED", "to": "QUALIFYING", "allowed": []}
