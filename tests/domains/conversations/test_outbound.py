"""What leaves for WhatsApp in one turn: plain texts go in front of the next message's
body, so a turn is one message (one batch of messages is sent concurrently and could
arrive out of order), unless WhatsApp's body limits forbid it."""

from __future__ import annotations

from servio.domains.conversations.actions import Action, Buttons, ChoiceOption, Handover, Text
from servio.domains.conversations.outbound import INTERACTIVE_BODY, TEXT_BODY, coalesce

YES_NO = [ChoiceOption(id="yes", label="Yes"), ChoiceOption(id="no", label="No")]


def test_texts_lead_into_the_next_message() -> None:
    turn: list[Action] = [
        Text(text="Thanks!"),
        Text(text="One more thing."),
        Buttons(text="18+?", options=YES_NO),
    ]
    assert coalesce(turn) == [Buttons(text="Thanks!\n\nOne more thing.\n\n18+?", options=YES_NO)]
    assert coalesce([Text(text="a"), Text(text="b")]) == [Text(text="a\n\nb")]
    handover = Handover(text="A person will answer.", reason="asked")
    assert coalesce([Text(text="Sure."), handover]) == [
        handover.model_copy(update={"text": "Sure.\n\nA person will answer."})
    ]
    assert coalesce([]) == []


def test_the_body_limits_keep_messages_apart() -> None:
    long = Text(text="x" * (INTERACTIVE_BODY - 5))
    question = Buttons(text="18+?", options=YES_NO)
    assert coalesce([long, question]) == [long, question]  # interactive bodies: 1024
    huge: list[Action] = [Text(text="y" * 3000), Text(text="z" * 3000)]
    assert coalesce(huge) == huge  # text bodies: 4096
    assert len(coalesce([Text(text="y" * 2000), Text(text="z" * 2000)])[0].text) <= TEXT_BODY
