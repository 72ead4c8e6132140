"""POST /v1/estimate through the app: the business's price list, overrides and tax;
bad input refused precisely; the price list reloads atomically."""

from __future__ import annotations

from pathlib import Path

import httpx

from servio.domains.identity import service
from servio.platform.db import Database
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.identity import problem, register
from tests.support.orgs import add_org


async def _shop(
    db: Database, slug: str = "shine", overrides: dict[str, object] | None = None
) -> None:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, slug)
        for key, value in ({"tax.rate_bps": 500} | (overrides or {})).items():
            await service.put_setting(s, org.id, key, value)


async def test_estimate_for_a_business(api: httpx.AsyncClient, db: Database) -> None:
    await _shop(db)
    r = await api.post(
        "/v1/estimate?org=shine",
        json={"beds": 2, "baths": 1, "frequency": "weekly", "total_cents": 1, "price": 0},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subtotal_cents"] == 94_50  # a client-sent total is ignored
    assert (body["labour_cents"], body["discount_cents"], body["tax_cents"]) == (
        105_00,
        10_50,
        4_73,
    )
    assert body["total_cents"] == 99_23
    assert (body["currency"], body["pricing_version"]) == ("CAD", "cleaning-2026.1")
    assert (body["team_size"], body["time_on_site_hours"]) == (1, 3.0)


async def test_org_overrides_and_add_on_lines(api: httpx.AsyncClient, db: Database) -> None:
    await _shop(db, overrides={"pricing.hourly_rate_cents": 4000})
    r = await api.post(
        "/v1/estimate?org=shine", json={"beds": 2, "baths": 1, "add_ons": ["oven", "fridge"]}
    )
    body = r.json()
    assert body["labour_cents"] == 120_00
    assert [(a["name"], a["total_cents"]) for a in body["add_ons"]] == [
        ("fridge", 20_00),
        ("oven", 30_00),
    ]


async def test_bad_input_is_precise(api: httpx.AsyncClient, db: Database) -> None:
    await _shop(db)
    problem(await api.post("/v1/estimate", json={"beds": 2, "baths": 1}), 422, "org-required")
    problem(
        await api.post("/v1/estimate?org=nope", json={"beds": 2, "baths": 1}), 404, "org-not-found"
    )
    for body, field in [
        ({"beds": -1, "baths": 1}, "beds"),
        ({"beds": 11, "baths": 1}, "beds"),
        ({"beds": 2, "baths": 1.25}, "baths"),
        ({"beds": 2, "baths": 1, "add_ons": {"oven": 99}}, "add_ons"),
    ]:
        r = problem(await api.post("/v1/estimate?org=shine", json=body), 422, "validation-error")
        assert field in str(r["errors"]), (body, r)
    unknown = problem(
        await api.post(
            "/v1/estimate?org=shine", json={"beds": 2, "baths": 1, "add_ons": ["sauna"]}
        ),
        422,
        "unknown-option",
    )
    assert "sauna" in str(unknown["detail"])
    wrong = problem(
        await api.post("/v1/estimate?org=shine", json={"beds": 2, "baths": 1, "currency": "usd"}),
        422,
        "unsupported-currency",
    )
    assert wrong["supported"] == ["CAD"]
    same = await api.post("/v1/estimate?org=shine", json={"beds": 2, "baths": 1, "currency": "cad"})
    assert same.json()["currency"] == "CAD"
    problem(
        await api.post("/v1/estimate?org=shine", json={"beds": 2, "baths": 1, "currency": "C$"}),
        422,
        "validation-error",
    )
    custom = (await api.post("/v1/estimate?org=shine", json={"beds": 9, "baths": 6})).json()
    assert custom["needs_custom_quote"] is True
    assert custom["total_cents"] == 0


async def test_reload_swaps_atomically_and_refuses_a_bad_file(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    verticals = tmp_path / "verticals"
    verticals.mkdir()
    settings = make_settings(db_url, var_dir=tmp_path / "var", verticals_dir=verticals)
    await _shop(db)
    async with app_client(settings, raise_errors=False) as api:
        owner = await register(api, "ada@example.com", "Bright Homes")
        source = Path(__file__).parents[3] / "src" / "servio" / "verticals" / "cleaning.toml"
        text = source.read_text()
        (verticals / "cleaning.toml").write_text(
            text.replace("cleaning-2026.1", "cleaning-2026.2").replace(
                "hourly_rate_cents = 3500", "hourly_rate_cents = 3600"
            )
        )
        ok = await api.post("/v1/admin/pricing/reload", headers=owner.auth)
        assert ok.json()["versions"]["cleaning"] == "cleaning-2026.2"
        priced = await api.post("/v1/estimate?org=shine", json={"beds": 2, "baths": 1})
        assert priced.json()["labour_cents"] == 108_00
        (verticals / "cleaning.toml").write_text(text.replace('hours = "2.5"', 'hours = "-1"'))
        bad = problem(
            await api.post("/v1/admin/pricing/reload", headers=owner.auth), 422, "invalid-pricing"
        )
        assert "cleaning.toml" in str(bad["detail"])
        assert "base_hours" in str(bad["errors"])
        still = await api.post("/v1/estimate?org=shine", json={"beds": 2, "baths": 1})
        assert still.json()["pricing_version"] == "cleaning-2026.2"
        (verticals / "cleaning.toml").write_text("not = [valid")
        problem(
            await api.post("/v1/admin/pricing/reload", headers=owner.auth), 422, "invalid-pricing"
        )
        problem(await api.post("/v1/admin/pricing/reload"), 401, "not-authenticated")
