"""What the webhook endpoints accept and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


def _example(**fields: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [fields]})


EventName = Annotated[
    str,
    StringConstraints(max_length=80, pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*)$"),
]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)]


class SubscriptionIn(BaseModel):
    model_config = _example(
        url="https://crm.example.com/hooks/servio",
        events=["booking.confirmed", "lead.created"],
        description="Our CRM",
    )
    url: Url
    events: list[EventName] = Field(
        min_length=1, max_length=50, description='Event types to receive; "*" for all'
    )
    description: str | None = Field(default=None, max_length=200)


class SubscriptionPatch(BaseModel):
    model_config = _example(active=True, events=["booking.confirmed"])
    url: Url | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="true re-enables a disabled endpoint")


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    previous_secret_valid_until: datetime | None = Field(
        description="Until then deliveries are signed with the old secret too"
    )


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="whsec_…; shown once, verify deliveries with it")


class SecretRotatedOut(BaseModel):
    id: uuid.UUID
    secret: str
    previous_secret_valid_until: datetime | None


class PingOut(BaseModel):
    subscription_id: uuid.UUID
    event_id: str
    message_id: str = Field(description="The webhook-id header the delivery will carry")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID | None
    message_id: str
    event_type: str
    event_id: str
    url: str
    attempt: int
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_snippet: str | None
    created_at: datetime


class DeliveryPageOut(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class LeadExportIn(BaseModel):
    model_config = _example(url="https://crm.example.com/servio/leads")
    url: Url


class LeadExportOut(BaseModel):
    url: str
    secret: str = Field(description="whsec_…; the CRM verifies lead exports with it")


class DeadLetterOut(BaseModel):
    id: uuid.UUID
    kind: str
    lead_id: str | None
    attempts: int
    max_attempts: int
    last_error: str | None
    created_at: datetime
    failed_at: datetime


class DeadLetterPageOut(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class ReplayedOut(BaseModel):
    id: uuid.UUID
    status: str
    next_attempt_at: datetime
