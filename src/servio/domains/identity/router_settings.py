"""``/v1/admin/settings``: read and change the business's settings, each validated by
type and range (see ``org_config``); a refused change stores nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from servio.domains.identity import org_config
from servio.domains.identity.deps import PriceLists
from servio.domains.identity.schemas import SettingsOut
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import ClientInfo
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(tags=["settings"], route_class=JsonRoute)
Reader = Annotated[Principal, Depends(require("settings:manage"))]


SETTINGS_EXAMPLE = {
    "bookings.reminder_hours": 48,
    "locale": "fr_CA",
    "pricing.hourly_rate_cents": 3900,
}


@router.get(
    "/v1/admin/settings",
    summary="The business's settings (stored values and defaults)",
    responses=problem_responses(401, 403),
)
async def read_settings(principal: Reader, s: OrgSession, lists: PriceLists) -> SettingsOut:
    return SettingsOut.of(await org_config.read_config(s, lists, principal.org_id))


@router.patch(
    "/v1/admin/settings",
    summary="Change settings: each key validated by type and range; null restores the default",
    responses=problem_responses(401, 403, 422),
)
async def change_settings(
    principal: Reader,
    s: OrgSession,
    lists: PriceLists,
    client: ClientInfo,
    body: Annotated[dict[str, Any], Body(examples=[SETTINGS_EXAMPLE], max_length=100)],
) -> SettingsOut:
    config = await org_config.change_settings(s, lists, principal, body, ip=client.ip)
    return SettingsOut.of(config)
