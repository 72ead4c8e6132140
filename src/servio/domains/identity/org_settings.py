"""The settings a business may change, declared once: each one's key, type with its
range, default and label. ``OrgSettings`` is also the typed view of one org's values
(stored, else the default) that the rules read; the settings page and the validation
of a change (``org_config``) are derived from the same fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo


def _locale(value: str) -> str:
    try:
        return str(Locale.parse(value.replace("-", "_")))
    except (ValueError, UnknownLocaleError) as exc:
        raise ValueError(f"{value!r} is not a known locale (e.g. en_CA, fr_CA)") from exc


# An https origin (optionally any subdomain of one): scheme, host, port; nothing else,
# since it goes into the chat page's Content-Security-Policy as it is.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HTTPS_ORIGIN = re.compile(rf"^https://(?:\*\.)?{_LABEL}(?:\.{_LABEL})*(?::([0-9]{{1,5}}))?/?$")
CHAT_EMBED_ORIGINS = "chat.embed_origins"


def _https_origin(value: str) -> str:
    plain = value.strip().lower()
    found = _HTTPS_ORIGIN.match(plain)
    if found is None or (found.group(1) and not 0 < int(found.group(1)) <= 65535):
        raise ValueError(
            f"{value!r} is not an https origin such as https://www.example.com (no path, no http)"
        )
    return plain.rstrip("/")


class EmailBranding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = Field(default=None, pattern=r"^https://\S{1,500}$")
    footer: str | None = Field(default=None, max_length=500)


Short = Annotated[str, Field(min_length=1, max_length=100)]
RateLimit = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}/(second|minute|hour|day)$")]
Origin = Annotated[str, AfterValidator(_https_origin)]


def _setting(key: str, default: Any, label: str) -> Any:
    return Field(default=default, alias=key, title=label)


class OrgSettings(BaseModel):
    """One org's settings, each its stored value or its default. Built from stored
    values, which were checked when they were written, so it is not validated again."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    locale: Annotated[str, AfterValidator(_locale)] = _setting("locale", "en_CA", "Locale")
    reminder_hours: Annotated[int, Field(ge=1, le=168)] = _setting(
        "bookings.reminder_hours", 24, "Reminder, hours before"
    )
    cancel_cutoff_hours: Annotated[int, Field(ge=0, le=720)] = _setting(
        "bookings.cancel_cutoff_hours", 24, "Cancel cutoff, hours"
    )
    hold_minutes: Annotated[int, Field(ge=5, le=1440)] = _setting(
        "bookings.hold_minutes", 30, "Unpaid hold, minutes"
    )
    slot_step_minutes: Annotated[int, Field(ge=5, le=240)] = _setting(
        "scheduling.slot_step_minutes", 30, "Slot step, minutes"
    )
    buffer_before_minutes: Annotated[int, Field(ge=0, le=480)] = _setting(
        "scheduling.buffer_before_minutes", 0, "Buffer before, minutes"
    )
    buffer_after_minutes: Annotated[int, Field(ge=0, le=480)] = _setting(
        "scheduling.buffer_after_minutes", 30, "Buffer after, minutes"
    )
    min_notice_minutes: Annotated[int, Field(ge=0, le=43_200)] = _setting(
        "scheduling.min_notice_minutes", 720, "Minimum notice, min"
    )
    horizon_days: Annotated[int, Field(ge=1, le=730)] = _setting(
        "scheduling.horizon_days", 60, "Booking horizon, days"
    )
    transcript_days: Annotated[int, Field(ge=1, le=3650)] = _setting(
        "retention.transcript_days", 180, "Keep transcripts, days"
    )
    stale_lead_days: Annotated[int, Field(ge=1, le=3650)] = _setting(
        "retention.stale_lead_days", 365, "Keep stale leads, days"
    )
    tax_rate_bps: Annotated[int, Field(ge=0, le=10_000)] = _setting(
        "tax.rate_bps", 0, "Tax rate, basis points"
    )
    tax_name: Annotated[str, Field(max_length=40)] = _setting("tax.name", "", "Tax name")
    phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = _setting(
        "phone.region", None, "Phone region"
    )
    rate_limit_authenticated: RateLimit | None = _setting(
        "rate_limit.authenticated", None, "API rate limit"
    )
    email_branding: EmailBranding | None = _setting("email.branding", None, "Email branding")
    email_wording: dict[Short, Short] | None = _setting("email.wording", None, "Email wording")
    whatsapp_phone_number_id: Annotated[str, Field(pattern=r"^[0-9]{5,20}$")] | None = _setting(
        "whatsapp.phone_number_id", None, "WhatsApp number id"
    )
    whatsapp_templates: dict[Short, Any] | None = _setting(
        "whatsapp.templates", None, "WhatsApp templates"
    )
    chat_embed_origins: Annotated[list[Origin], Field(max_length=20)] = _setting(
        CHAT_EMBED_ORIGINS, [], "Sites that may frame the web chat"
    )

    @classmethod
    def declared(cls) -> dict[str, FieldInfo]:
        """Each setting's declaration by its key, in the order the page lists them."""
        return {str(f.alias): f for f in cls.model_fields.values()}

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> OrgSettings:
        """The view of an org's stored settings (other keys are ignored)."""
        values = {_FIELD_BY_KEY[k]: v for k, v in stored.items() if k in _FIELD_BY_KEY}
        if "email_branding" in values:  # stored as its JSON object
            found = values["email_branding"]
            branding = EmailBranding.model_construct(**found) if isinstance(found, dict) else None
            values["email_branding"] = branding
        return cls.model_construct(**values)


_FIELD_BY_KEY = {str(f.alias): name for name, f in OrgSettings.model_fields.items()}
