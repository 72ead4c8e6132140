"""The core flow's pinned shapes (API-CONTRACT.md): the request fields integrations
send and the response fields they read, exactly by name."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from servio.platform.db import Database
from tests.support.bookings import business
from tests.support.identity import problem

ESTIMATE_FIELDS = {
    "total_cents",
    "subtotal_cents",
    "tax_cents",
    "discount_cents",
    "add_ons_cents",
    "labor_cents",
    "currency",
    "cleaner_hours",
    "team_size",
    "time_on_site_hours",
    "duration_minutes",
    "breakdown",
    "pricing_version",
}


async def test_estimate_slots_leads_and_bookings_keep_their_pinned_shapes(
    api: httpx.AsyncClient, db: Database
) -> None:
    owner, start = await business(api, db)
    org = f"org={owner.org_slug}"
    request = {"beds": 2, "baths": 1, "frequency": "weekly", "add_ons": {"oven": 1}}
    estimate = (await api.post(f"/v1/estimate?{org}", json=request)).json()
    assert set(estimate) >= ESTIMATE_FIELDS
    assert estimate["labor_cents"] == 105_00
    assert estimate["duration_minutes"] == 180
    assert estimate["subtotal_cents"] == (
        estimate["labor_cents"] - estimate["discount_cents"] + estimate["add_ons_cents"]
    )
    assert estimate["total_cents"] == estimate["subtotal_cents"] + estimate["tax_cents"]
    lines = estimate["breakdown"]
    assert [line["kind"] for line in lines] == ["labour", "discount", "add_on"]
    assert (
        sum(line["amount_cents"] for line in lines) + estimate["tax_cents"]
        == (estimate["total_cents"])
    )

    slots = (
        await api.get(
            "/v1/slots",
            params={
                "org": owner.org_slug,
                "date": start.date().isoformat(),
                "duration_minutes": 180,
            },
        )
    ).json()
    assert set(slots) >= {"slots", "timezone"}
    first = slots["slots"][0]
    assert set(first) >= {"start", "end", "resource_id"}
    assert datetime.fromisoformat(first["start"]).utcoffset() is not None  # with its offset

    lead = await api.post(
        f"/v1/leads?{org}",
        json={
            "name": "Jo Doe",
            "email": "jo@example.com",
            "phone": "+1 780 555 0100",
            "estimate_request": {"beds": 2, "baths": 1},
            "source": "website",
        },
    )
    assert lead.status_code == 201, lead.text
    assert set(lead.json()) >= {"id", "referral_code", "estimate", "status"}
    assert lead.json()["estimate"]["subtotal_cents"] == 105_00

    booked = await api.post(
        f"/v1/bookings?{org}",
        json={
            "start": first["start"],
            "estimate_request": {"beds": 2, "baths": 1},
            "customer": {"name": "Jo Doe", "email": "jo@example.com", "phone": "+1 780 555 0100"},
            "lead_id": lead.json()["id"],
            "resource_id": first["resource_id"],
        },
    )
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert set(body) >= {"id", "status", "start", "end", "resource_id", "deposit"}
    assert body["deposit"] == {"required": True, "amount_cents": 50_00, "reasons": ["new_client"]}
    assert (body["phone"], body["email"]) == ("+17805550100", "jo@example.com")

    direct = await api.post(
        f"/v1/bookings?{org}",
        json={
            "start": (start + timedelta(days=1)).isoformat(),
            "duration_minutes": 120,
            "customer": {"name": "Sam Roe", "email": "sam@example.com"},
        },
    )
    assert direct.status_code == 201, direct.text
    assert direct.json()["end"] > direct.json()["start"]
    taken = problem(
        await api.post(
            f"/v1/bookings?{org}",
            json={
                "start": first["start"],
                "duration_minutes": 60,
                "customer": {"name": "Al", "email": "al@example.com"},
            },
        ),
        409,
        "slot-taken",
    )
    assert isinstance(taken["alternatives"], list)
    bad = await api.post(
        f"/v1/bookings?{org}",
        json={"start": first["start"], "duration_minutes": 60, "customer": {"name": "Al"}},
    )
    problem(bad, 422, "validation-error")
