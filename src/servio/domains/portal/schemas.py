"""What the client portal accepts and returns: sign-in links and sessions, a
customer's own bookings with the change policy, reschedules and free starts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from servio.domains.portal import signin
from servio.platform.dates import SaneDateTime


class PolicyOut(BaseModel):
    can_change: bool
    reason: str | None
    cutoff_hours: int
    change_deadline: datetime


class ClientBookingOut(BaseModel):
    id: uuid.UUID
    status: str
    start: datetime
    end: datetime
    name: str
    subtotal_cents: int | None
    currency: str
    deposit_required: bool
    deposit_cents: int
    refund_cents: int | None
    cancel_reason: str | None
    policy: PolicyOut


class ClientBookingsOut(BaseModel):
    upcoming: list[ClientBookingOut]
    past: list[ClientBookingOut]
    timezone: str


class LinkRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org: str = Field(min_length=1, max_length=63)
    email: str = Field(min_length=3, max_length=320)


class LinkRequestOut(BaseModel):
    detail: str


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=signin.MAX_TOKEN_LENGTH)


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class MoveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"start": "2027-06-03T09:00:00-06:00"}]}
    )
    start: SaneDateTime


class FreeStartsOut(BaseModel):
    starts: list[datetime]
    timezone: str
