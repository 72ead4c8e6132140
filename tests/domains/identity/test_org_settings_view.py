"""``identity.settings_of``: one org's settings as typed values, each the stored one or
the default its declaration states (the same defaults ``/v1/admin/settings`` shows)."""

from __future__ import annotations

import httpx

from servio.domains.identity import service as identity
from servio.domains.identity.org_settings import EmailBranding, OrgSettings
from servio.platform.db import Database
from tests.support.identity import register

URL = "/v1/admin/settings"


async def test_an_org_with_nothing_stored_reads_the_declared_defaults(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@view.example.com", "View Homes")
    shown = (await api.get(URL, headers=owner.auth)).json()["settings"]
    async with db.unit_of_work(owner.org_id) as s:
        view = await identity.settings_of(s, owner.org_id)
    assert (view.reminder_hours, view.cancel_cutoff_hours, view.hold_minutes) == (24, 24, 30)
    assert (view.slot_step_minutes, view.min_notice_minutes, view.horizon_days) == (30, 720, 60)
    assert (view.tax_rate_bps, view.phone_region, view.chat_embed_origins) == (0, None, [])
    for key, field in OrgSettings.declared().items():
        assert shown[key] == field.get_default(), key
        assert getattr(view, key_to_name(key)) == shown[key], key


async def test_stored_values_are_read_back_typed(api: httpx.AsyncClient, db: Database) -> None:
    owner = await register(api, "owner@typed.example.com", "Typed Homes")
    change = {
        "bookings.reminder_hours": 48,
        "bookings.cancel_cutoff_hours": "12",
        "phone.region": "GB",
        "email.branding": {"accent_color": "#112233"},
        "chat.embed_origins": ["https://www.example.com/"],
    }
    r = await api.patch(URL, json=change, headers=owner.auth)
    assert r.status_code == 200, r.text
    async with db.unit_of_work(owner.org_id) as s:
        view = await identity.settings_of(s, owner.org_id)
    assert (view.reminder_hours, view.cancel_cutoff_hours) == (48, 12)
    assert view.phone_region == "GB"
    assert view.email_branding == EmailBranding(accent_color="#112233")
    assert view.chat_embed_origins == ["https://www.example.com"]
    assert view.hold_minutes == 30  # not stored: its default


def key_to_name(key: str) -> str:
    [name] = [n for n, f in OrgSettings.model_fields.items() if f.alias == key]
    return name
