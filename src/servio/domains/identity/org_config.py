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

from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.identity import service as identity
from servio.domains.identity.org_settings import CHAT_EMBED_ORIGINS as CHAT_EMBED_ORIGINS
from servio.domains.identity.org_settings import OrgSettings
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


def _zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"{value!r} is not a known time zone (e.g. America/Edmonton)")
    return value


@dataclass(frozen=True)
class Known:
    """One setting: its type with its range, its default, and what it means."""

    key: str
    kind: TypeAdapter[Any]
    default: Any
    label: str

    def check(self, value: Any) -> Any:
        checked = self.kind.validate_python(value)
        return checked.model_dump(exclude_none=True) if isinstance(checked, BaseModel) else checked


# The time zone is the org's own column; every other setting is declared by OrgSettings.
KNOWN: dict[str, Known] = {
    TIMEZONE: Known(TIMEZONE, TypeAdapter(Annotated[str, AfterValidator(_zone)]), None, "Time zone")
} | {
    key: Known(key, TypeAdapter(field.rebuild_annotation()), field.get_default(), str(field.title))
    for key, field in OrgSettings.declared().items()
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
