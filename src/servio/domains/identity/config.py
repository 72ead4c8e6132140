"""What identity needs from the deployment's settings, resolved once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from servio.platform.config import Settings
from servio.platform.security.tokens import KeyRing


@dataclass(frozen=True)
class AuthConfig:
    keys: KeyRing
    access_ttl: timedelta
    refresh_ttl: timedelta
    mfa_ttl: timedelta
    invite_ttl: timedelta
    reset_ttl: timedelta
    public_url: str
    secure_cookies: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        return cls(
            keys=KeyRing.from_settings(settings.jwt_keys, settings.secret_key.get_secret_value()),
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
            mfa_ttl=timedelta(minutes=5),
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
            reset_ttl=timedelta(minutes=settings.password_reset_ttl_minutes),
            public_url=settings.public_url.rstrip("/"),
            secure_cookies=settings.env == "prod",
        )
