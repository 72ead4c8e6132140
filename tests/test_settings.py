"""Settings come from SERVIO_* variables; production refuses unsafe values, naming each."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from servio.platform.config import DEV_SECRET_KEY, Settings, production_problems


def test_defaults_are_the_embedded_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SERVIO_ENV", "SERVIO_DATABASE_URL", "SERVIO_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert settings.env == "dev"
    assert settings.database_url == "sqlite+aiosqlite:///./var/servio.db"
    assert settings.redis_url is None


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVIO_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("SERVIO_WHATSAPP_PILOT_NUMBERS", "+15550001,+15550002")
    monkeypatch.setenv("SERVIO_MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.whatsapp_pilot_numbers == ["+15550001", "+15550002"]
    assert settings.max_body_bytes == 4096


def test_production_names_every_missing_or_default_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(env="prod", stripe_api_key="sk_live_x", whatsapp_access_token="EAAG")
    message = str(caught.value)
    for name in (
        "SERVIO_SECRET_KEY",
        "SERVIO_STRIPE_WEBHOOK_SECRET",
        "SERVIO_WHATSAPP_APP_SECRET",
        "SERVIO_WHATSAPP_VERIFY_TOKEN",
        "SERVIO_METRICS_TOKEN",
        "SERVIO_CLIENT_PORTAL_SECRET",
    ):
        assert name in message


def test_production_accepts_real_secrets() -> None:
    settings = Settings(
        env="prod",
        secret_key="s" * 48,
        metrics_token="metrics-token-123",
        client_portal_secret="c" * 40,
        database_url="postgresql+asyncpg://app@db/servio",
    )
    assert production_problems(settings) == []
    assert settings.secret_key.get_secret_value() != DEV_SECRET_KEY


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("database_url", "mysql://x/y", "sqlite+aiosqlite://"),
        ("env", "staging", "dev"),
        ("max_body_bytes", "12", "greater than or equal"),
        ("log_level", "loud", "debug"),
        ("maintenance_retry_after", "0", "greater than or equal"),
    ],
)
def test_invalid_values_say_why(field: str, value: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_rate_limits_default_to_the_documented_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SERVIO_RATE_LIMIT_ENABLED", "SERVIO_RATE_LIMIT_ADMIN", "SERVIO_RATE_LIMIT_AUTH"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert settings.rate_limit_enabled is True
    assert settings.rate_limit_default == "120/minute"
    assert settings.rate_limit_auth == "20/minute"
    assert settings.rate_limit_admin == "10/60 seconds"
    assert settings.rate_limit_authenticated == "600/minute"


@pytest.mark.parametrize(
    "variable",
    [
        "SERVIO_RATE_LIMIT_DEFAULT",
        "SERVIO_RATE_LIMIT_AUTH",
        "SERVIO_RATE_LIMIT_ADMIN",
        "SERVIO_RATE_LIMIT_AUTHENTICATED",
    ],
)
def test_a_bad_rate_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "ten a minute")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert f"{variable}: 'ten a minute' is not one rate such as '20/minute'" in message


def test_admin_allowlist_reads_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVIO_ADMIN_IP_ALLOWLIST", "10.0.0.0/8, 2001:db8::/32,203.0.113.9")
    assert Settings().admin_ip_allowlist == ["10.0.0.0/8", "2001:db8::/32", "203.0.113.9"]
    monkeypatch.delenv("SERVIO_ADMIN_IP_ALLOWLIST")
    assert Settings().admin_ip_allowlist == []


@pytest.mark.parametrize("value", ["10.0.0.300/8", "10.0.0.0/33", "office", "2001:db8::/129"])
def test_a_bad_network_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SERVIO_ADMIN_IP_ALLOWLIST", f"192.0.2.0/24,{value}")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert f"SERVIO_ADMIN_IP_ALLOWLIST: {value!r} is not a network" in str(caught.value)


PROVIDER_SECRETS = {
    "stripe_webhook_secret": "SERVIO_STRIPE_WEBHOOK_SECRET",
    "whatsapp_app_secret": "SERVIO_WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "SERVIO_WHATSAPP_VERIFY_TOKEN",
    "turnstile_secret": "SERVIO_TURNSTILE_SECRET",
    "metrics_token": "SERVIO_METRICS_TOKEN",
    "operator_token": "SERVIO_OPERATOR_TOKEN",
}
REAL_LOOKING = {
    "stripe_webhook_secret": "whsec_5d41402abc4b2a76b9719d911017c592",
    "whatsapp_app_secret": "7f3c2a9e51b04d6c8e2f1a0b9c8d7e6f",
    "whatsapp_verify_token": "kX9vQ2mZt7LwP4rN",
    "turnstile_secret": "0x4AAAAAAADnPIDROrmt1Wwj9Zx3q5T7m",
    "metrics_token": "m3tr1cs-9f2c7a1e5b",
    "operator_token": "op-4b7e9d2c1a8f6e3d",
}


def _prod(**secrets: str) -> Settings:
    return Settings(
        env="prod",
        secret_key="s" * 48,
        client_portal_secret="c" * 40,
        database_url="postgresql+asyncpg://app@db/servio",
        stripe_api_key="sk_live_51HxQk",
        whatsapp_access_token="EAAGm0PX4ZCps",
        **{**REAL_LOOKING, **secrets},  # type: ignore[arg-type]
    )


def test_production_accepts_real_looking_provider_secrets() -> None:
    settings = _prod()
    assert production_problems(settings) == []
    assert settings.turnstile_secret is not None


@pytest.mark.parametrize(
    "placeholder",
    [
        "whsec_test",
        "test",
        "changeme",
        "secret",
        "CHANGE-ME-please-now",
        "short-value",
        "x" * 24,
        "whsec_dev_checkout",  # the demo's own checkout secret
        "your-stripe-webhook-secret-here",
        "dev-only-secret-key-change-me",
    ],
)
def test_production_refuses_placeholder_provider_secrets_naming_each(placeholder: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _prod(**dict.fromkeys(PROVIDER_SECRETS, placeholder))
    message = caught.value.errors()[0]["msg"]  # what `servio serve` prints
    for name in PROVIDER_SECRETS.values():
        assert f"{name} looks like a placeholder" in message
    assert placeholder not in message  # the value itself is never echoed


@pytest.mark.parametrize("field", sorted(PROVIDER_SECRETS))
def test_production_names_only_the_placeholder_secret(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _prod(**{field: "whsec_test" if field.startswith("stripe") else "changeme"})
    message = str(caught.value)
    assert PROVIDER_SECRETS[field] in message
    others = set(PROVIDER_SECRETS.values()) - {PROVIDER_SECRETS[field]}
    assert not any(f"{name} looks" in message for name in others)


def test_production_refuses_the_turnstile_test_secrets() -> None:
    with pytest.raises(ValidationError, match="SERVIO_TURNSTILE_SECRET looks like a placeholder"):
        _prod(turnstile_secret="1x0000000000000000000000000000000AA")


def test_development_keeps_accepting_test_secrets() -> None:
    settings = Settings(env="dev", stripe_webhook_secret="whsec_test", metrics_token="test")
    assert settings.stripe_webhook_secret is not None
