"""What the engine asks a channel to do, channel-agnostic: the web chat renders these as
JSON, WhatsApp as text, interactive buttons or lists, and template messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True)


class Text(_Action):
    type: Literal["text"] = "text"
    text: str


class ChoiceOption(_Action):
    id: str  # what the channel sends back as reply_id
    label: str


class Buttons(_Action):
    """Up to three quick replies (WhatsApp reply buttons)."""

    type: Literal["buttons"] = "buttons"
    text: str
    options: list[ChoiceOption]


class ChoiceList(_Action):
    """More than three choices (a WhatsApp list message, up to ten rows)."""

    type: Literal["list"] = "list"
    text: str
    options: list[ChoiceOption]


class OfferedSlot(_Action):
    id: str  # reply_id choosing it: "slot:<n>"
    resource_id: uuid.UUID
    resource_name: str
    start: datetime
    end: datetime
    local_start: datetime


class SlotOffer(_Action):
    type: Literal["slot_offer"] = "slot_offer"
    text: str
    timezone: str
    slots: list[OfferedSlot]


class DepositRequest(_Action):
    type: Literal["deposit_request"] = "deposit_request"
    text: str
    amount_cents: int
    currency: str
    reason: str
    checkout_url: str | None = None  # where the contact pays (the provider's checkout)
    booking_id: uuid.UUID | None = None  # the booking holding the chosen slot
    # The booking's checkout is still to be opened with the provider (after commit).
    checkout_pending: bool = False


class Handover(_Action):
    """Staff take over; the bot stays quiet until they hand the conversation back."""

    type: Literal["handover"] = "handover"
    text: str
    reason: Literal["asked", "failures"]


Action = Annotated[
    Text | Buttons | ChoiceList | SlotOffer | DepositRequest | Handover,
    Field(discriminator="type"),
]
