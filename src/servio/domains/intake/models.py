"""Leads, each with its own referral code."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime, utcnow


class LeadStatus(StrEnum):
    """Where a lead stands, stored and shown as its name."""

    NEW = "NEW"
    CONTACTED = "CONTACTED"
    QUOTED = "QUOTED"
    BOOKED = "BOOKED"
    LOST = "LOST"


class Lead(TenantBase):
    __tablename__ = "leads"

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    estimate_total_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str | None] = mapped_column(String(60), default=None)
    utm: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(String(2000), default=None)
    status: Mapped[str] = mapped_column(String(12), default=LeadStatus.NEW, index=True)
    referral_code: Mapped[str] = mapped_column(String(16))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("leads.id", ondelete="SET NULL"), default=None
    )
    referral_credit_granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: each UPDATE is made ``WHERE version = <the version read>`` and
    # fails (StaleDataError) when another transaction changed the row first. The service
    # moves the version itself, on the changes its ETag or history stands for.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    __table_args__ = (
        UniqueConstraint("org_id", "referral_code", name="uq_leads_org_referral_code"),
    )
