"""Client portal sign-ins: one row per emailed link, which becomes the session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from servio.platform.db import TenantBase, UTCDateTime


class ClientSignIn(TenantBase):
    """An emailed sign-in link for ``email`` in the org. The link works once
    (``used_at``) until ``expires_at``; the session it opens lasts until
    ``session_expires_at`` or sign-out (``ended_at``). Only the nonce's SHA-256 is kept."""

    __tablename__ = "client_sign_ins"

    email: Mapped[str] = mapped_column(String(320), index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    session_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    requested_ip: Mapped[str | None] = mapped_column(String(45), default=None)
