"""What the client portal needs from the deployment's settings, resolved once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from servio.platform.config import Settings


@dataclass(frozen=True)
class PortalConfig:
    secret: str
    link_ttl: timedelta
    session_ttl: timedelta
    public_url: str
    secure_cookies: bool
    # Sign-in requests: per address asked for, and per client address.
    email_rate: str = "5/15 minutes"
    ip_rate: str = "20/15 minutes"
    # Every signed-in customer's calls.
    session_rate: str = "120/minute"

    @classmethod
    def from_settings(cls, settings: Settings) -> PortalConfig:
        return cls(
            secret=settings.client_portal_secret.get_secret_value(),
            link_ttl=timedelta(minutes=settings.client_portal_token_ttl_minutes),
            session_ttl=timedelta(hours=settings.client_portal_session_hours),
            public_url=settings.public_url.rstrip("/"),
            secure_cookies=settings.env == "prod",
        )
