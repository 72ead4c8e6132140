"""Action links: signed, single-use, expiring links that let staff act from a message."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime


class ActionLink(TenantBase):
    """One link: what it does (``kind`` on ``subject_id``), the SHA-256 of its token
    (the token itself is never stored), when it lapses, and who used it with what
    result."""

    __tablename__ = "action_links"

    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    created_by: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
