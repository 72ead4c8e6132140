"""What the scheduling endpoints accept and return: free slots, resources and their
weekly hours, blackouts, suggested starts and schedule conflicts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, model_validator

from servio.platform.dates import SaneDateTime


class SlotOut(BaseModel):
    resource_id: uuid.UUID
    resource_name: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime


class SlotsOut(BaseModel):
    timezone: str
    duration_minutes: int
    slots: list[SlotOut]


class HoursIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: time
    closes: time


class ResourceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Team A",
                    "kind": "team",
                    "hours": [{"weekday": 0, "opens": "09:00", "closes": "18:00"}],
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(default="team", pattern=r"^(team|artist|room)$")
    hours: list[HoursIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _ordered(self) -> ResourceIn:
        if any(h.closes <= h.opens for h in self.hours):
            raise ValueError("each opening must close after it opens")
        return self


class ResourceOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    active: bool


class BlackoutIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "starts_at": "2026-12-24T00:00:00-07:00",
                    "ends_at": "2026-12-27T00:00:00-07:00",
                    "reason": "Holidays",
                }
            ]
        },
    )
    resource_id: uuid.UUID | None = None
    starts_at: SaneDateTime
    ends_at: SaneDateTime
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _span(self) -> BlackoutIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a UTC offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SuggestionOut(BaseModel):
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    resource_id: uuid.UUID
    resource_name: str
    score: int
    reasons: list[str]


class SuggestionsOut(BaseModel):
    timezone: str
    suggestions: list[SuggestionOut]
    considered: int = Field(description="Free starts weighed")


class ConflictOut(BaseModel):
    kind: str = Field(description="overlap, blackout or outside_hours")
    resource_id: uuid.UUID
    resource_name: str
    reservation_ids: list[uuid.UUID]
    booking_ids: list[uuid.UUID]
    blackout_id: uuid.UUID | None
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    detail: str


class ConflictsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    timezone: str
    first: date = Field(alias="from")
    last: date = Field(alias="to")
    conflicts: list[ConflictOut]


class OpeningIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: time
    closes: time


class WeekIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"hours": [{"weekday": 0, "opens": "09:00", "closes": "18:00"}]}]
        }
    )
    hours: list[OpeningIn] = Field(max_length=50, description="days left out are closed")


class WeekOut(WeekIn):
    resource_id: uuid.UUID


class BlackoutOut(BaseModel):
    id: uuid.UUID
    resource_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    reason: str
