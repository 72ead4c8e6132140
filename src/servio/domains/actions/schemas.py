"""What crosses the wire for action links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["booking.confirm", "deposit.mark_paid", "design.approve", "design.reject"]


class ActionLinkIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "booking.confirm",
                    "subject_id": "0b7c2f4e-3d7a-4c1e-9a53-2f1f4b8d6e10",
                    "ttl_minutes": 1440,
                }
            ]
        },
    )

    kind: Kind
    subject_id: uuid.UUID
    ttl_minutes: int = Field(default=1440, ge=1, le=43200)


class ActionLinkOut(BaseModel):
    url: str
    expires_at: datetime
