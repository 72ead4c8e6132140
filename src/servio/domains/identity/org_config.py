"""The settings a business may change, each with its type and range, and the one way
to change them: every value validated before it is stored (through ``put_setting``, so
the session's copy stays current), pricing and deposit overrides checked against the
org's whole price list, and each change written to the audit log.

A value out of range never reaches the database, so a job that reads it never breaks."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.identity.trail import trail
from servio.platform.errors import DomainError
from servio.platform.security.principal import Principal

TIMEZONE = "timezone"
OVERRIDE_PREFIXES = ("pricing.", "deposit.")
# Written by their own routes, which keep their own rules (a secret, a panic state).
MANAGED_ELSEWHERE = {
    "crm.webhook_url": "/v1/admin/lead-export",
    "crm.webhook_secret": "/v1/admin/lead-export",
    "conversations.panic": "/v1/admin/panic",
}


class SettingsInvalid(DomainError):
    status = 422
    type = "invalid-settings"
    title = "Some settings are not valid"
    description = "`errors` lists each setting (`field`) and what is wrong with its value."


def _locale(value: str) -> str:
    try:
        return str(Locale.parse(value.replace("-", "_")))
    except (ValueError, UnknownLocaleError) as exc:
        raise ValueError(f"{value!r} is not a known locale (e.g. en_CA, fr_CA)") from exc


def _zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"{value!r} is not a known time zone (e.g. America/Edmonton)")
    return value


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


def _whole(low: int, high: int) -> Any:
    return Annotated[int, Field(ge=low, le=high)]


class EmailBranding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = Field(default=None, pattern=r"^https://\S{1,500}$")
    footer: str | None = Field(default=None, max_length=500)


@dataclass(frozen=True)
class Known:
    """One setting: its type with its range, its default, and what it means."""

    key: str
    kind: Any
    default: Any
    label: str

    def check(self, value: Any) -> Any:
        checked = TypeAdapter(self.kind).validate_python(value)
        return checked.model_dump(exclude_none=True) if isinstance(checked, BaseModel) else checked


Short = Annotated[str, Field(min_length=1, max_length=100)]
KNOWN: dict[str, Known] = {
    k.key: k
    for k in (
        Known(TIMEZONE, Annotated[str, AfterValidator(_zone)], None, "Time zone"),
        Known("locale", Annotated[str, AfterValidator(_locale)], "en_CA", "Locale"),
        Known("bookings.reminder_hours", _whole(1, 168), 24, "Reminder, hours before"),
        Known("bookings.cancel_cutoff_hours", _whole(0, 720), 24, "Cancel cutoff, hours"),
        Known("bookings.hold_minutes", _whole(5, 1440), 30, "Unpaid hold, minutes"),
        Known("scheduling.slot_step_minutes", _whole(5, 240), 30, "Slot step, minutes"),
        Known("scheduling.buffer_before_minutes", _whole(0, 480), 0, "Buffer before, minutes"),
        Known("scheduling.buffer_after_minutes", _whole(0, 480), 30, "Buffer after, minutes"),
        Known("scheduling.min_notice_minutes", _whole(0, 43_200), 720, "Minimum notice, min"),
        Known("scheduling.horizon_days", _whole(1, 730), 60, "Booking horizon, days"),
        Known("retention.transcript_days", _whole(1, 3650), 180, "Keep transcripts, days"),
        Known("retention.stale_lead_days", _whole(1, 3650), 365, "Keep stale leads, days"),
        Known("tax.rate_bps", _whole(0, 10_000), 0, "Tax rate, basis points"),
        Known("tax.name", Annotated[str, Field(max_length=40)], "", "Tax name"),
        Known("phone.region", Annotated[str, Field(pattern=r"^[A-Z]{2}$")], None, "Phone region"),
        Known(
            "rate_limit.authenticated",
            Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}/(second|minute|hour|day)$")],
            None,
            "API rate limit",
        ),
        Known("email.branding", EmailBranding, None, "Email branding"),
        Known("email.wording", dict[Short, Short], None, "Email wording"),
        Known(
            "whatsapp.phone_number_id",
            Annotated[str, Field(pattern=r"^[0-9]{5,20}$")],
            None,
            "WhatsApp number id",
        ),
        Known("whatsapp.templates", dict[Short, Any], None, "WhatsApp templates"),
        Known(
            CHAT_EMBED_ORIGINS,
            Annotated[list[Annotated[str, AfterValidator(_https_origin)]], Field(max_length=20)],
            [],
            "Sites that may frame the web chat",
        ),
    )
}
OverrideValue = TypeAdapter(int | bool | str | list[int] | list[str])
_OVERRIDE_KEY = re.compile(r"^(pricing|deposit)(\.[a-z0-9_]{1,60}){1,3}$")


@dataclass(frozen=True)
class OrgConfig:
    """The org's settings as the business sees them: every known key's value (stored or
    default), which keys are stored, its price-list overrides and deposit policy."""

    values: dict[str, Any]
    stored: frozenset[str]
    overrides: dict[str, Any]
    deposit: dict[str, Any] | None
    pricing: dict[str, Any]


def _problem(errors: list[dict[str, str]]) -> SettingsInvalid:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return SettingsInvalid(f"{len(errors)} setting(s) refused: {detail}", extra={"errors": errors})


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _typed(value: Any) -> Any:
    """A form's text as the JSON value it spells ("3000" → 3000, "true" → True)."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?[0-9]{1,12}", text):
            return int(text)
        if text in ("true", "false"):
            return text == "true"
        return text
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value


def _check_one(key: str, value: Any) -> Any:
    """The value as stored, or ValueError saying why it is refused."""
    if key in MANAGED_ELSEWHERE:
        raise ValueError(f"this setting is changed through {MANAGED_ELSEWHERE[key]}")
    known = KNOWN.get(key)
    try:
        if known is not None:
            return known.check(value)
        if _OVERRIDE_KEY.match(key):
            return OverrideValue.validate_python(_typed(value))
    except ValidationError as exc:
        raise ValueError(_message(exc)) from exc
    raise ValueError("unknown setting")


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            if (
                key == TIMEZONE
                or key in MANAGED_ELSEWHERE
                or not (key in KNOWN or _OVERRIDE_KEY.match(key))
            ):
                errors.append({"field": key, "message": "this setting cannot be cleared"})
            else:
                checked[key] = None
            continue
        try:
            checked[key] = _check_one(key, value)
        except ValueError as exc:
            errors.append({"field": key, "message": str(exc)})
    if errors:
        raise _problem(errors)
    return checked


def _check_price_list(
    price_lists: identity.PriceLists, vertical: str, merged: dict[str, Any], changed: set[str]
) -> None:
    """The overrides together must still make a valid price list for the org's vertical."""
    overrides = {k: v for k, v in merged.items() if k.startswith(OVERRIDE_PREFIXES)}
    found = price_lists.check_overrides(vertical, overrides)
    if found.missing is not None:
        raise _problem([{"field": k, "message": found.missing} for k in sorted(changed)])
    errors = []
    for e in found.errors:
        field = e["field"] if e["field"] in changed else _closest(e["field"], changed)
        errors.append({"field": field, "message": e["message"]})
    if errors:
        raise _problem(errors)


def _closest(field: str, changed: set[str]) -> str:
    """The changed key a price-list error is about ("deposit" → "deposit.max_cents")."""
    near = sorted(k for k in changed if k.startswith(field) or field.startswith(k))
    return near[0] if near else (field or sorted(changed)[0])


async def read_config(
    s: AsyncSession, price_lists: identity.PriceLists, org_id: uuid.UUID
) -> OrgConfig:
    """Every known setting's value for the org, stored or default."""
    org = await identity.get_org(s, org_id)
    stored = await identity.org_settings(s, org_id)
    values = {key: stored.get(key, known.default) for key, known in KNOWN.items()}
    values[TIMEZONE] = org.timezone
    overrides = {k: v for k, v in stored.items() if k.startswith(OVERRIDE_PREFIXES)}
    found = price_lists.check_overrides(org.vertical, stored)
    deposit, pricing = (found.deposit, found.pricing) if found.valid else (None, {})
    keys = frozenset(k for k in stored if k in KNOWN or k in overrides) | {TIMEZONE}
    return OrgConfig(
        values=values, stored=keys, overrides=overrides, deposit=deposit, pricing=pricing
    )


async def change_settings(
    s: AsyncSession,
    price_lists: identity.PriceLists,
    principal: Principal,
    changes: dict[str, Any],
    *,
    ip: str | None = None,
) -> OrgConfig:
    """Validate every change first (all or nothing), then store them and log who changed
    what; ``None`` clears a stored value so its default applies again."""
    if not changes:
        raise _problem([{"field": "", "message": "send at least one setting"}])
    checked = _checked(changes)
    org = await identity.get_org(s, principal.org_id)
    stored = await identity.org_settings(s, org.id)
    merged = {k: v for k, v in (stored | checked).items() if v is not None}
    changed_overrides = {k for k in checked if k.startswith(OVERRIDE_PREFIXES)}
    if changed_overrides:
        _check_price_list(price_lists, org.vertical, merged, changed_overrides)
    before = {k: org.timezone if k == TIMEZONE else stored.get(k) for k in checked}
    for key, value in checked.items():
        if key == TIMEZONE:
            org.timezone = value
        elif value is None:
            await identity.delete_setting(s, org.id, key)
        else:
            await identity.put_setting(s, org.id, key, value)
    await s.flush()
    await trail(
        s, principal, "settings.changed", f"org:{org.id}", ip=ip, before=before, after=checked
    )
    return await read_config(s, price_lists, org.id)
