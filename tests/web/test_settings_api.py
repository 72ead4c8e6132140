"""``/v1/admin/settings``: each known setting is validated by type and range before it
is stored, unknown keys are refused by name, pricing and deposit overrides must keep the
price list valid, a viewer may not change anything, and one org never sees another's."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from servio.domains.identity.models import Org, OrgSetting
from servio.platform.audit.models import AuditEvent
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.support.identity import Account, invite, problem, register

URL = "/v1/admin/settings"


async def _stored(db: Database, owner: Account) -> dict[str, object]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(select(OrgSetting).where(OrgSetting.org_id == owner.org_id))
        return {row.key: row.value for row in rows}


def _fields(r: httpx.Response) -> dict[str, str]:
    body = problem(r, 422, "invalid-settings")
    errors = body["errors"]
    assert isinstance(errors, list)
    return {e["field"]: e["message"] for e in errors}


async def test_the_settings_shape_lists_every_known_key_with_its_default(
    api: httpx.AsyncClient,
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    r = await api.get(URL, headers=owner.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"settings", "stored", "overrides", "deposit"}
    assert body["settings"]["bookings.reminder_hours"] == 24
    assert body["settings"]["bookings.cancel_cutoff_hours"] == 24
    assert body["settings"]["timezone"] == "UTC"
    assert body["settings"]["locale"] == "en_CA"
    assert body["overrides"] == {}
    assert body["deposit"]["percent_bps"] == 2500  # the cleaning price list's policy


async def test_valid_values_are_stored_read_back_and_audited(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    change = {
        "bookings.reminder_hours": 48,
        "bookings.cancel_cutoff_hours": "12",
        "locale": "fr-CA",
        "timezone": "America/Edmonton",
        "pricing.hourly_rate_cents": 3900,
        "deposit.percent_bps": 3000,
        "email.branding": {"accent_color": "#112233"},
    }
    r = await api.patch(URL, json=change, headers=owner.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["settings"]["bookings.cancel_cutoff_hours"] == 12
    assert body["settings"]["locale"] == "fr_CA"
    assert body["overrides"] == {"deposit.percent_bps": 3000, "pricing.hourly_rate_cents": 3900}
    assert body["deposit"]["percent_bps"] == 3000
    assert "bookings.reminder_hours" in body["stored"]
    stored = await _stored(db, owner)
    assert stored["bookings.reminder_hours"] == 48
    assert stored["bookings.cancel_cutoff_hours"] == 12
    assert stored["email.branding"] == {"accent_color": "#112233"}
    assert (await api.get(URL, headers=owner.auth)).json() == body
    estimate = await api.post(
        f"/v1/estimate?org={owner.org_slug}",
        json={"beds": 1, "baths": 1, "cleaning_type": "standard", "frequency": "one_time"},
    )
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["labor_cents"] % 3900 == 0
    async with db.unit_of_work(system=True) as s:
        org = await s.get(Org, owner.org_id)
        assert org is not None
        assert org.timezone == "America/Edmonton"
        events = list(
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "settings.changed"))
        )
    assert len(events) == 1
    assert events[0].target == f"org:{owner.org_id}"
    cleared = await api.patch(URL, json={"bookings.reminder_hours": None}, headers=owner.auth)
    assert cleared.json()["settings"]["bookings.reminder_hours"] == 24
    assert "bookings.reminder_hours" not in await _stored(db, owner)


async def test_each_bad_value_is_a_422_naming_its_field_and_nothing_is_stored(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    bad = {
        "bookings.reminder_hours": 0,
        "bookings.cancel_cutoff_hours": "soon",
        "scheduling.slot_step_minutes": 1,
        "timezone": "Mars/Olympus",
        "locale": "xx_QQ",
        "tax.rate_bps": 20_000,
        "email.branding": {"accent_color": "red"},
        "bookings.tea_breaks": 3,
        "crm.webhook_secret": "shh",
        "locale_typo": "en",
    }
    fields = _fields(await api.patch(URL, json=bad, headers=owner.auth))
    assert set(fields) == set(bad)
    assert fields["bookings.tea_breaks"] == "unknown setting"
    assert "greater than or equal to 1" in fields["bookings.reminder_hours"]
    assert "/v1/admin/lead-export" in fields["crm.webhook_secret"]
    one_good = {"bookings.reminder_hours": 12, "bookings.hold_minutes": -5}
    assert set(_fields(await api.patch(URL, json=one_good, headers=owner.auth))) == {
        "bookings.hold_minutes"
    }
    assert await _stored(db, owner) == {}
    assert _fields(await api.patch(URL, json={}, headers=owner.auth)) == {
        "": "send at least one setting"
    }
    cannot_clear = await api.patch(URL, json={"timezone": None}, headers=owner.auth)
    assert set(_fields(cannot_clear)) == {"timezone"}


async def test_price_list_overrides_must_keep_the_price_list_valid(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    unknown = await api.patch(URL, json={"pricing.free_lunch": 1}, headers=owner.auth)
    assert "pricing.free_lunch" in _fields(unknown)
    negative = await api.patch(URL, json={"pricing.hourly_rate_cents": -1}, headers=owner.auth)
    assert set(_fields(negative)) == {"pricing.hourly_rate_cents"}
    upside_down = {"deposit.min_cents": 90_000, "deposit.max_cents": 100}
    fields = _fields(await api.patch(URL, json=upside_down, headers=owner.auth))
    assert "max_cents is below min_cents" in " ".join(fields.values())
    assert set(fields) <= set(upside_down)
    assert await _stored(db, owner) == {}


async def test_a_viewer_may_not_read_or_change_settings(
    api: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    viewer = await invite(api, owner, settings.var_dir, "viewer@tidy.example.com", "VIEWER")
    change = await api.patch(URL, json={"bookings.reminder_hours": 2}, headers=viewer.auth)
    problem(change, 403, "forbidden")
    problem(await api.get(URL, headers=viewer.auth), 403, "forbidden")
    assert (await api.get(URL)).status_code == 401
    assert await _stored(db, owner) == {}


async def test_one_org_never_reads_or_changes_anothers_settings(
    api: httpx.AsyncClient, db: Database
) -> None:
    tidy = await register(api, "owner@tidy.example.com", "Tidy Homes")
    other = await register(api, "owner@other.example.com", "Other Co")
    r = await api.patch(URL, json={"bookings.reminder_hours": 6}, headers=tidy.auth)
    assert r.status_code == 200, r.text
    theirs = await api.get(URL, headers=other.auth)
    assert theirs.json()["settings"]["bookings.reminder_hours"] == 24
    assert theirs.json()["stored"] == ["timezone"]
    await api.patch(URL, json={"bookings.reminder_hours": 100}, headers=other.auth)
    assert (await _stored(db, tidy))["bookings.reminder_hours"] == 6
    assert (await _stored(db, other))["bookings.reminder_hours"] == 100
