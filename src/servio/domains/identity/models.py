"""Orgs are the tenants; ``org_settings`` is the first tenant-owned table and the
pattern every later one copies (``TenantBase``: org_id under row-level security)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import Base, TenantBase, UTCDateTime, utcnow


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    vertical: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency_iso4217"),
        CheckConstraint("length(slug) >= 2", name="slug_length"),
    )


class OrgSetting(TenantBase):
    """One overridable value of an org (a pricing number, a deposit rule, business hours)."""

    __tablename__ = "org_settings"

    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("org_id", "key", name="uq_org_settings_org_key"),)
