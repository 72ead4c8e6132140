"""The console's operations pages through the app: leads filtered and moved, settings
saved or refused beside the field with the typed value kept, hours and blackouts, team
invitations and roles, dead letters replayed, and the jobs table."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, update

from servio.domains.identity.models import Membership, OneTimeToken, OrgSetting
from servio.domains.intake.models import Lead
from servio.domains.scheduling.models import Blackout, WeeklyHours
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.outbox import OutboxMessage, add
from tests.conftest import SQLITE_ONLY
from tests.support.identity import PASSWORD, Account, invite, register

HX = {"HX-Request": "true"}


async def _console(api: httpx.AsyncClient, who: Account) -> dict[str, str]:
    """Sign in through the console's form; the htmx headers its writes carry."""
    r = await api.post("/app/login", data={"email": who.email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return HX | {"X-CSRF-Token": api.cookies["servio_csrf"]}


async def _lead(api: httpx.AsyncClient, who: Account, name: str, source: str) -> uuid.UUID:
    r = await api.post(
        f"/v1/leads?org={who.org_slug}",
        json={"name": name, "email": f"{name.lower()}@example.com", "source": source},
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def _stored(db: Database, org_id: uuid.UUID) -> dict[str, object]:
    async with db.unit_of_work(system=True) as s:
        rows = await s.scalars(select(OrgSetting).where(OrgSetting.org_id == org_id))
        return {r.key: r.value for r in rows}


async def test_leads_filter_and_a_status_move_updates_the_lead(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    ann = await _lead(api, owner, "Ann", "website")
    await _lead(api, owner, "Bob", "referral")
    hx = await _console(api, owner)
    everyone = await api.get("/app/leads")
    assert everyone.status_code == 200
    assert "Ann" in everyone.text
    assert "Bob" in everyone.text
    by_source = await api.get("/app/leads", params={"source": "referral"})
    assert "Bob" in by_source.text
    assert "ann@example.com" not in by_source.text
    found = await api.get("/app/leads", params={"q": "ann"}, headers=HX | {"HX-Target": "leads"})
    assert found.text.startswith('<div id="leads"')  # the table alone, for htmx
    assert "Ann" in found.text
    assert "Bob" not in found.text
    later = await api.get("/app/leads", params={"from": "2199-01-01"})
    assert "No leads match these filters." in later.text
    moved = await api.post(f"/app/leads/{ann}/status", data={"status": "QUOTED"}, headers=hx)
    assert moved.status_code == 200, moved.text
    assert f'<tr id="lead-{ann}">' in moved.text
    assert 'class="badge QUOTED"' in moved.text
    illegal = await api.post(f"/app/leads/{ann}/status", data={"status": "NEW"}, headers=hx)
    assert illegal.status_code == 409
    assert "A QUOTED lead cannot become NEW." in illegal.text
    assert 'role="alert"' in illegal.text
    async with db.unit_of_work(system=True) as s:
        lead = await s.get(Lead, ann)
        assert lead is not None
        assert lead.status == "QUOTED"
    quoted = await api.get("/app/leads", params={"status": "QUOTED"})
    assert "Ann" in quoted.text
    assert "Bob" not in quoted.text
    detail = await api.get(f"/app/leads/{ann}")
    assert "ann@example.com" in detail.text
    assert 'name="view" value="detail"' in detail.text


@SQLITE_ONLY
async def test_a_bad_setting_is_shown_beside_its_field_with_the_typed_value_kept(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    hx = await _console(api, owner)
    page = await api.get("/app/settings")
    assert page.status_code == 200
    assert 'name="bookings.reminder_hours"' in page.text
    form = {"timezone": "UTC", "locale": "en_CA", "bookings.reminder_hours": "999"}
    bad = await api.post("/app/settings/general", data=form, headers=hx)
    assert bad.status_code == 422
    assert bad.text.startswith('<section class="card" id="general"')
    assert 'value="999"' in bad.text
    assert 'id="f-bookings-reminder_hours-error"' in bad.text
    assert "less than or equal to 168" in bad.text
    assert await _stored(db, owner.org_id) == {}
    good = await api.post(
        "/app/settings/general", data=form | {"bookings.reminder_hours": "48"}, headers=hx
    )
    assert good.status_code == 200
    assert "Saved." in good.text
    assert (await _stored(db, owner.org_id))["bookings.reminder_hours"] == 48


async def test_deposit_and_pricing_overrides_are_saved_through_the_price_list(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    hx = await _console(api, owner)
    deposit = {
        "deposit.percent_bps": "3000",
        "deposit.min_cents": "5000",
        "deposit.max_cents": "100",
        "deposit.high_value_cents": "30000",
        "deposit.short_notice_hours": "24, 48",
        "deposit.new_client": "false",
        "deposit.weekend_days": ["5", "6"],
    }
    refused = await api.post("/app/settings/deposit", data=deposit, headers=hx)
    assert refused.status_code == 422
    assert "max_cents is below min_cents" in refused.text
    assert 'value="100"' in refused.text
    saved = await api.post(
        "/app/settings/deposit", data=deposit | {"deposit.max_cents": "20000"}, headers=hx
    )
    assert saved.status_code == 200, saved.text
    stored = await _stored(db, owner.org_id)
    assert stored["deposit.percent_bps"] == 3000
    assert stored["deposit.short_notice_hours"] == [24, 48]
    assert stored["deposit.weekend_days"] == [5, 6]
    assert stored["deposit.new_client"] is False
    price = await api.post(
        "/app/settings/pricing", data={"pricing.hourly_rate_cents": "4100"}, headers=hx
    )
    assert price.status_code == 200
    assert (await _stored(db, owner.org_id))["pricing.hourly_rate_cents"] == 4100


async def test_hours_and_blackouts_are_set_from_the_settings_page(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    team = await api.post("/v1/admin/resources", json={"name": "Team A"}, headers=owner.auth)
    resource = team.json()["id"]
    hx = await _console(api, owner)
    bad = await api.post(
        f"/app/settings/hours/{resource}",
        data={"opens.0": "18:00", "closes.0": "09:00"},
        headers=hx,
    )
    assert bad.status_code == 422
    assert "Monday closes before it opens" in bad.text
    assert 'value="18:00"' in bad.text
    ok = await api.post(
        f"/app/settings/hours/{resource}",
        data={"opens.0": "09:00", "closes.0": "17:00", "opens.2": "10:00", "closes.2": "14:00"},
        headers=hx,
    )
    assert ok.status_code == 200
    async with db.unit_of_work(system=True) as s:
        rows = list(await s.scalars(select(WeeklyHours).where(WeeklyHours.org_id == owner.org_id)))
    assert sorted((r.weekday, r.opens.hour, r.closes.hour) for r in rows) == [
        (0, 9, 17),
        (2, 10, 14),
    ]
    backwards = {"starts_at": "2027-01-02T10:00", "ends_at": "2027-01-01T10:00", "reason": "x"}
    refused = await api.post("/app/settings/blackouts", data=backwards, headers=hx)
    assert refused.status_code == 422
    assert "must end after it starts" in refused.text
    added = await api.post(
        "/app/settings/blackouts", data=backwards | {"ends_at": "2027-01-03T10:00"}, headers=hx
    )
    assert added.status_code == 200
    assert "No upcoming blackouts." not in added.text
    async with db.unit_of_work(system=True) as s:
        blackout = await s.scalar(select(Blackout).where(Blackout.org_id == owner.org_id))
    assert blackout is not None
    removed = await api.post(f"/app/settings/blackouts/{blackout.id}/remove", headers=hx)
    assert "No upcoming blackouts." in removed.text


async def test_team_invite_role_change_and_the_last_owner(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    clerk = await invite(api, owner, settings.var_dir, "clerk@tidy.example.com", "VIEWER")
    hx = await _console(api, owner) | {"HX-Target": "team"}
    page = await api.get("/app/team")
    assert "clerk@tidy.example.com" in page.text
    bad = await api.post("/app/team/invite", data={"email": "", "role": "DISPATCHER"}, headers=hx)
    assert bad.status_code == 422
    assert 'id="f-email-error"' in bad.text  # the email validator's reason, beside the field
    assert 'value="DISPATCHER" selected' in bad.text
    sent = await api.post(
        "/app/team/invite", data={"email": "new@tidy.example.com", "role": "DISPATCHER"}, headers=hx
    )
    assert sent.status_code == 200, sent.text
    assert "Invitation sent to new@tidy.example.com." in sent.text
    async with db.unit_of_work(system=True) as s:
        token = await s.scalar(
            select(OneTimeToken).where(OneTimeToken.email == "new@tidy.example.com")
        )
    assert token is not None
    assert token.purpose == "invite"
    assert token.role == "DISPATCHER"
    role = await api.post(f"/app/team/{clerk.user_id}/role", data={"role": "FINANCE"}, headers=hx)
    assert role.status_code == 200
    last = await api.post(f"/app/team/{owner.user_id}/deactivate", headers=hx)
    assert last.status_code == 409
    assert 'role="alert"' in last.text
    async with db.unit_of_work(system=True) as s:
        rows = await s.execute(select(Membership.user_id, Membership.role))
        roles = {row.user_id: row.role for row in rows}
    assert roles[clerk.user_id] == "FINANCE"
    assert roles[owner.user_id] == "OWNER"


@SQLITE_ONLY
async def test_a_viewer_is_kept_out_of_settings_and_team(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    viewer = await invite(api, owner, settings.var_dir, "viewer@tidy.example.com", "VIEWER")
    hx = await _console(api, viewer)
    refused = await api.get("/app/settings")
    assert refused.status_code == 403
    assert "Your role may not do this (needs settings:manage)." in refused.text
    assert (await api.get("/app/team")).status_code == 403
    assert (await api.get("/app/dead-letter")).status_code == 403
    assert (await api.get("/app/leads")).status_code == 200
    write = await api.post("/app/settings/general", data={"locale": "fr_CA"}, headers=hx)
    assert write.status_code == 403
    stored = await api.get("/v1/admin/settings", headers=owner.auth)
    assert "locale" not in stored.json()["stored"]  # nothing was written


async def test_a_dead_letter_is_replayed_from_the_page(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    async with db.unit_of_work(system=True) as s:
        row = await add(
            s, kind="email.send", payload={"to": "x"}, dedupe_key="dl:1", org_id=owner.org_id
        )
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(status="dead", attempts=8, last_error="SMTPServerDisconnected: gone")
        )
    hx = await _console(api, owner)
    page = await api.get("/app/dead-letter")
    assert "SMTPServerDisconnected: gone" in page.text
    assert f'id="dead-{row.id}"' in page.text
    replayed = await api.post(f"/app/dead-letter/{row.id}/replay", headers=hx)
    assert replayed.status_code == 200, replayed.text
    assert "Replayed" in replayed.text
    async with db.unit_of_work(system=True) as s:
        again = await s.get(OutboxMessage, row.id)
    assert again is not None
    assert again.status != "dead"
    twice = await api.post(f"/app/dead-letter/{row.id}/replay", headers=hx)
    assert twice.status_code == 409
    assert "not dead" in twice.text
    empty = await api.get("/app/dead-letter")
    assert "No dead letters." in empty.text


@SQLITE_ONLY
async def test_the_jobs_page_lists_the_scheduled_jobs(api: httpx.AsyncClient) -> None:
    owner = await register(api, "owner@tidy.example.com", "Tidy Homes")
    await _console(api, owner)
    page = await api.get("/app/jobs")
    assert page.status_code == 200
    status = await api.get("/v1/admin/jobs/status", headers=owner.auth)
    names = [job["name"] for job in status.json()["jobs"]]
    assert names
    for name in names:
        assert f"<td>{name}" in page.text
