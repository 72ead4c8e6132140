"""What the booking endpoints accept and return: a booking request (the contact
nested in ``customer`` or flat), a booking with its deposit, the staff's moves and
reschedules, a booking's timeline, and the reminder scan and resend answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from servio.domains.catalog import service as catalog
from servio.platform.dates import SaneDateTime


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class BookingIn(BaseModel):
    """The pinned shape nests the contact in ``customer``; the same fields at the top
    level are accepted too."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "customer": {"name": "Jo Doe", "email": "jo@example.com"},
                    "start": "2027-06-02T09:00:00-06:00",
                    "estimate_request": {"beds": 2, "baths": 1},
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    start: SaneDateTime
    inputs: catalog.EstimateIn | None = Field(
        default=None, validation_alias=AliasChoices("estimate_request", "inputs")
    )

    @model_validator(mode="before")
    @classmethod
    def _customer(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("customer"), dict):
            contact = Customer.model_validate(data["customer"])
            return {**data, **contact.model_dump(exclude_none=True)}
        return data

    duration_minutes: int | None = Field(default=None, ge=15, le=24 * 60)
    resource_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None


class DepositOut(BaseModel):
    required: bool
    amount_cents: int
    reasons: list[str]


class BookingOut(BaseModel):
    id: uuid.UUID
    status: str
    resource_id: uuid.UUID
    lead_id: uuid.UUID | None
    name: str
    email: str
    phone: str | None
    starts_at: datetime
    ends_at: datetime
    estimate: dict[str, Any] | None
    subtotal_cents: int | None
    currency: str
    deposit_required: bool
    deposit_cents: int
    deposit_reasons: list[str]
    hold_expires_at: datetime | None
    cancel_reason: str | None
    refund_cents: int | None = None
    actual_minutes: int | None = None
    reminded_at: datetime | None = None
    reminded_for: datetime | None = None
    version: int
    checkout_url: str | None = None
    start: datetime  # the pinned names of starts_at, ends_at and the deposit fields
    end: datetime
    deposit: DepositOut


class MoveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Customer asked"}, {"actual_minutes": 195}]},
    )
    reason: str | None = Field(default=None, max_length=500)
    actual_minutes: int | None = Field(
        default=None, ge=1, le=24 * 60, description="complete only: how long the job took"
    )
    refund_deposit: bool | None = Field(
        default=None,
        description="cancel only: refund a paid deposit (true) or keep it (false) whatever "
        "the cut-off policy says",
    )


class RescheduleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"start": "2027-06-03T09:00:00-06:00"}]}
    )
    start: SaneDateTime


class EventOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class EmailScanOut(BaseModel):
    reminders_queued: int
    window_hours: int


class ResentEmailOut(BaseModel):
    outbox_id: uuid.UUID
    template: str
    to: str


class BookingPage(BaseModel):
    """Bookings by start time; ``next_cursor`` fetches the later ones (None: no more)."""

    items: list[BookingOut]
    next_cursor: str | None
