"""What the lead endpoints accept and return."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from servio.domains.catalog.service import EstimateIn

Status = Literal["NEW", "CONTACTED", "QUOTED", "BOOKED", "LOST"]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(default="CA", pattern=r"^[A-Z]{2}$")


class LeadIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "name": "Jo Doe",
                    "email": "jo@example.com",
                    "phone": "+1 780 555 0100",
                    "estimate_request": {"beds": 2, "baths": 1, "frequency": "weekly"},
                    "consent": True,
                    "source": "website",
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None
    inputs: EstimateIn | None = Field(
        default=None,
        validation_alias=AliasChoices("estimate_request", "inputs"),
        description="the cleaning request to price (pinned name: estimate_request)",
    )
    notes: str | None = Field(default=None, max_length=2000)
    source: str | None = Field(default=None, max_length=60)
    utm: dict[str, str] = Field(default_factory=dict, max_length=10)
    consent: bool = False
    referred_by: str | None = Field(default=None, max_length=16)
    captcha_token: str | None = Field(default=None, max_length=2048)


class LeadOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    phone: str | None
    status: Status
    estimate: dict[str, Any] | None
    estimate_total_cents: int | None
    currency: str
    source: str | None
    utm: dict[str, str]
    consent: bool
    referral_code: str
    referred_by: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None


class StatusIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "CONTACTED"}]}
    )
    status: Status


class LeadsOut(BaseModel):
    items: list[LeadOut]
    count: int


class FunnelOut(BaseModel):
    days: int
    counts: dict[str, int]
    total: int
    steps: list[dict[str, Any]]  # NEW → CONTACTED → QUOTED → BOOKED, conversion in bps
    conversations: dict[str, Any]  # the same for conversation stages, first message → BOOKED


class RetentionOut(BaseModel):
    deleted: int
    retention_days: int
