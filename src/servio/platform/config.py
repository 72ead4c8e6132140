"""Settings read from ``SERVIO_*`` environment variables.

In production the process refuses to start with a missing or default secret; every
setting that is wrong is named with the reason, so an operator fixes them in one pass.
"""

from __future__ import annotations

import ipaddress
import re
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from servio.platform.ratelimit import parse_rate

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - a marker that prod refuses
DEFAULT_DEMO_PASSWORD = "servio-demo-2026"  # noqa: S105 - documented demo login
DEV_CLIENT_PORTAL_SECRET = "dev-only-client-portal-secret"  # noqa: S105 - prod refuses it

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything the process needs to know, from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="SERVIO_", env_file=None, extra="ignore", frozen=True
    )

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite+aiosqlite:///./var/servio.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # The longest one statement may run (PostgreSQL statement_timeout; the driver gives
    # up a little later), so a stalled database answers 503 instead of hanging requests.
    database_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    redis_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    var_dir: Path = Path("./var")
    default_org: str | None = None
    verticals_dir: Path | None = None
    # Dev/test only: the process's clock starts at this instant (ISO 8601 with offset)
    # and ticks from there, for a reproducible demo or a run at a chosen date.
    clock_start: AwareDatetime | None = None

    # Access tokens: "kid:secret" pairs, the first signs, all verify (rotation);
    # empty = one key derived from SERVIO_SECRET_KEY.
    jwt_keys: CommaList = Field(default_factory=list)
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    principal_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    invite_ttl_hours: int = Field(default=72, ge=1, le=720)
    password_reset_ttl_minutes: int = Field(default=30, ge=5, le=1440)
    public_url: str = "http://127.0.0.1:8000"
    operator_token: SecretStr | None = None
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65536, ge=1024, le=1_048_576)
    basic_admin_enabled: bool = False
    basic_admin_user: str = "admin"
    basic_admin_password: SecretStr | None = None

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    access_log: bool = True

    cors_origins: CommaList = Field(default_factory=list)
    cors_allow_credentials: bool = True
    trusted_proxies: CommaList = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    metrics_token: SecretStr | None = None
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, le=300)
    # /readyz answers 503 without a fresh worker heartbeat (else the worker degrades it).
    readiness_require_worker: bool = False
    worker_error_backoff_cap_seconds: float = Field(default=30.0, gt=0, le=600)
    worker_plugins: CommaList = Field(default_factory=list)
    outbox_batch_size: int = Field(default=50, ge=1, le=500)
    outbox_concurrency: int = Field(default=25, ge=1, le=200)
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    outbox_backoff_cap_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    outbox_claim_seconds: float = Field(default=120.0, ge=5, le=3600)
    circuit_failure_threshold: int = Field(default=5, ge=1, le=100)
    circuit_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    inbox_retention_days: int = Field(default=30, ge=1, le=3650)
    job_runs_retention_days: int = Field(default=30, ge=1, le=3650)

    demo_password: SecretStr = SecretStr(DEFAULT_DEMO_PASSWORD)

    # The client portal's emailed sign-in links and sessions are signed with this key.
    client_portal_secret: SecretStr = SecretStr(DEV_CLIENT_PORTAL_SECRET)
    client_portal_token_ttl_minutes: int = Field(default=30, ge=5, le=1440)
    client_portal_session_hours: int = Field(default=12, ge=1, le=720)

    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    # Serve a local stand-in for Stripe Checkout under /dev/stripe and point the SDK at
    # it (``servio demo`` turns it on when no Stripe key is set). Never in production.
    stripe_dev_checkout: bool = False

    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    whatsapp_access_token: SecretStr | None = None
    whatsapp_dry_run: bool = False
    whatsapp_pilot_numbers: CommaList = Field(default_factory=list)

    turnstile_secret: SecretStr | None = None
    # The public site key the widget shows; an org may set its own ("turnstile.site_key").
    turnstile_site_key: str | None = None
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"

    smtp_url: str | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = "Servio <no-reply@servio.local>"
    webhooks_allow_private: bool = False
    # Outbound webhooks: after a rotation the old secret still signs for this long.
    webhook_secret_grace_hours: int = Field(default=24, ge=0, le=720)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    rate_limit_enabled: bool = True
    rate_limit_default: str = "120/minute"
    rate_limit_auth: str = "20/minute"
    rate_limit_admin: str = "10/60 seconds"
    rate_limit_authenticated: str = "600/minute"
    rate_limit_key_prefix: str = Field(default="servio:ratelimit", min_length=1)

    maintenance_mode: bool = False
    maintenance_retry_after: int = Field(default=300, ge=1, le=86_400)
    admin_ip_allowlist: CommaList = Field(default_factory=list)

    _split = field_validator(
        "cors_origins", "trusted_proxies", "whatsapp_pilot_numbers", "jwt_keys", mode="before"
    )(_split_commas)
    _split_allowlist = field_validator("admin_ip_allowlist", "worker_plugins", mode="before")(
        _split_commas
    )

    @field_validator("jwt_keys")
    @classmethod
    def _jwt_keys(cls, value: list[str]) -> list[str]:
        for item in value:
            kid, _, secret = item.partition(":")
            if not kid or len(secret) < 32:
                raise ValueError("each entry must be kid:secret with a secret of 32+ chars")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465"
            )
        return value.strip()

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        address = parseaddr(value)[1]
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError("must be an address such as 'Servio <no-reply@example.com>'")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                f"(got {value.split('://', 1)[0]}://)"
            )
        return value

    @field_validator(
        "rate_limit_default", "rate_limit_auth", "rate_limit_admin", "rate_limit_authenticated"
    )
    @classmethod
    def _one_rate(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_rate(value)
        except ValueError as exc:
            raise ValueError(f"SERVIO_{str(info.field_name).upper()}: {exc}") from None
        return value

    @field_validator("admin_ip_allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"SERVIO_ADMIN_IP_ALLOWLIST: {item!r} is not a network such as "
                    "'10.0.0.0/8', '2001:db8::/32' or an address"
                ) from None
        return value

    @model_validator(mode="after")
    def _production_guard(self) -> Settings:
        if self.env != "prod":
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError("refusing to run in production: " + "; ".join(problems))
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _blank(secret: SecretStr | None) -> bool:
    return secret is None or not secret.get_secret_value().strip()


# Provider secrets and tokens a deployment sets: in production each must look real.
PROVIDER_SECRETS = (
    "stripe_webhook_secret",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "turnstile_secret",
    "metrics_token",
    "operator_token",
)
MIN_PROVIDER_SECRET_CHARS = 16
PLACEHOLDER_WORDS = frozenset(
    {"test", "secret", "changeme", "password", "token", "example", "placeholder", "dummy"}
    | {"default", "dev", "todo", "xxx", "none", "null", "verify", "webhook", "demo"}
    | {"sample", "fake", "your", "my", "here", "key", "app", "local", "checkout", "only"}
    | {"stripe", "whatsapp", "turnstile", "metrics", "operator", "admin", "value"}
)
# Cloudflare's published Turnstile test secrets: they pass (or fail) every token.
TURNSTILE_TEST_SECRET = re.compile(r"^[123]x0{20,}AA$")


def looks_like_placeholder(value: str) -> bool:
    """A value nobody would choose as a real secret: a known test or development value,
    a word such as ``changeme``, too short, or one character repeated."""
    plain = value.strip()
    if plain in (DEV_SECRET_KEY, DEV_CLIENT_PORTAL_SECRET) or TURNSTILE_TEST_SECRET.match(plain):
        return True
    core = re.sub(r"^whsec_", "", plain.lower())
    words = [w for w in re.split(r"[^a-z0-9]+", core) if w]
    squashed = "".join(words)
    return (
        len(plain) < MIN_PROVIDER_SECRET_CHARS
        or squashed in PLACEHOLDER_WORDS
        or "changeme" in squashed
        or "placeholder" in squashed
        or all(w in PLACEHOLDER_WORDS for w in words)
        or len(set(squashed)) <= 2
    )


def _placeholder_problems(settings: Settings) -> list[str]:
    problems = []
    for name in PROVIDER_SECRETS:
        secret: SecretStr | None = getattr(settings, name)
        if not _blank(secret) and secret and looks_like_placeholder(secret.get_secret_value()):
            problems.append(
                f"SERVIO_{name.upper()} looks like a placeholder (a sample or default value, "
                f"or under {MIN_PROVIDER_SECRET_CHARS} chars)"
            )
    return problems


def production_problems(settings: Settings) -> list[str]:
    """Each reason production would be unsafe with these settings, naming the variable."""
    problems: list[str] = []
    if settings.clock_start is not None:
        problems.append("SERVIO_CLOCK_START pins the clock (dev/test only)")
    key = settings.secret_key.get_secret_value()
    if key == DEV_SECRET_KEY or len(key) < 32:
        problems.append("SERVIO_SECRET_KEY is missing, the development default, or under 32 chars")
    portal = settings.client_portal_secret.get_secret_value()
    if portal == DEV_CLIENT_PORTAL_SECRET or len(portal) < 32:
        problems.append(
            "SERVIO_CLIENT_PORTAL_SECRET is missing, the development default, or under 32 chars"
        )
    if not _blank(settings.stripe_api_key) and _blank(settings.stripe_webhook_secret):
        problems.append("SERVIO_STRIPE_WEBHOOK_SECRET is missing while Stripe is configured")
    if not _blank(settings.whatsapp_access_token):
        for name in ("whatsapp_app_secret", "whatsapp_verify_token"):
            if _blank(getattr(settings, name)):
                problems.append(f"SERVIO_{name.upper()} is missing while WhatsApp is configured")
    if "*" in settings.cors_origins and settings.cors_allow_credentials:
        problems.append("SERVIO_CORS_ORIGINS may not be '*' while credentials are allowed")
    if _blank(settings.metrics_token):
        problems.append("SERVIO_METRICS_TOKEN is missing (metrics are private in production)")
    problems.extend(_placeholder_problems(settings))
    if settings.password_hash_memory_kib < 19456 or settings.password_hash_time_cost < 2:
        problems.append(
            "SERVIO_PASSWORD_HASH_MEMORY_KIB / SERVIO_PASSWORD_HASH_TIME_COST are below "
            "the argon2id minimum (19456 KiB, 2 passes)"
        )
    if settings.basic_admin_enabled:
        problems.append("SERVIO_BASIC_ADMIN_ENABLED is a development convenience")
    if settings.webhooks_allow_private:
        problems.append("SERVIO_WEBHOOKS_ALLOW_PRIVATE is a dev/test switch")
    if settings.stripe_dev_checkout:
        problems.append("SERVIO_STRIPE_DEV_CHECKOUT serves a stand-in for Stripe")
    return problems
