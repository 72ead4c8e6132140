"""``/v1/webhooks``: an org's subscriptions, their secrets, test pings and the log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from servio.domains.webhooks import service
from servio.domains.webhooks.deps import Config
from servio.domains.webhooks.models import WebhookSubscription
from servio.domains.webhooks.schemas import (
    DeliveryOut,
    DeliveryPageOut,
    PingOut,
    SecretRotatedOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from servio.platform.http.auth import OrgSession, require
from servio.platform.http.context import Trail
from servio.platform.http.problems import problem_responses
from servio.platform.http.routing import JsonRoute
from servio.platform.security.principal import Principal

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=JsonRoute)
Manager = Annotated[Principal, Depends(require("webhooks:manage"))]


def _out(row: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        url=row.url,
        events=row.events,
        description=row.description,
        active=row.active,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        previous_secret_valid_until=row.previous_valid_until,
    )


def _public(row: WebhookSubscription) -> dict[str, object]:
    return {"url": row.url, "events": row.events, "active": row.active}


@router.get(
    "/subscriptions",
    summary="Webhook subscriptions of my business",
    responses=problem_responses(401, 403),
)
async def list_subscriptions(principal: Manager, s: OrgSession) -> list[SubscriptionOut]:
    return [_out(r) for r in await service.list_subscriptions(s, principal.org_id)]


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Subscribe a URL to events (the signing secret is shown once)",
    responses=problem_responses(401, 403, 422),
)
async def create_subscription(
    body: SubscriptionIn, principal: Manager, s: OrgSession, config: Config, trail: Trail
) -> SubscriptionCreated:
    row = await service.create_subscription(
        s,
        principal.org_id,
        url=body.url,
        events=body.events,
        description=body.description,
        config=config,
    )
    await trail(
        "webhook.subscription.created", f"webhook_subscription:{row.id}", after=_public(row)
    )
    return SubscriptionCreated(**_out(row).model_dump(), secret=row.secret)


@router.get(
    "/subscriptions/{subscription_id}",
    summary="One webhook subscription",
    responses=problem_responses(401, 403, 404),
)
async def get_subscription(
    subscription_id: uuid.UUID, principal: Manager, s: OrgSession
) -> SubscriptionOut:
    return _out(await service.get_subscription(s, principal.org_id, subscription_id))


@router.patch(
    "/subscriptions/{subscription_id}",
    summary="Change a subscription's URL or events, or disable or re-enable it",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionPatch,
    principal: Manager,
    s: OrgSession,
    config: Config,
    trail: Trail,
) -> SubscriptionOut:
    row = await service.update_subscription(
        s, principal.org_id, subscription_id, body.model_dump(exclude_unset=True), config
    )
    await trail(
        "webhook.subscription.changed", f"webhook_subscription:{row.id}", after=_public(row)
    )
    return _out(row)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    summary="Delete a subscription and its delivery log",
    responses=problem_responses(401, 403, 404),
)
async def delete_subscription(
    subscription_id: uuid.UUID, principal: Manager, s: OrgSession, trail: Trail
) -> Response:
    await service.delete_subscription(s, principal.org_id, subscription_id)
    await trail("webhook.subscription.deleted", f"webhook_subscription:{subscription_id}")
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    summary="Replace the signing secret; the old one stays valid for the grace period",
    responses=problem_responses(401, 403, 404),
)
async def rotate_secret(
    subscription_id: uuid.UUID, principal: Manager, s: OrgSession, config: Config, trail: Trail
) -> SecretRotatedOut:
    row = await service.rotate_secret(s, principal.org_id, subscription_id, config)
    await trail(
        "webhook.secret.rotated",
        f"webhook_subscription:{row.id}",
        after={"old_valid_until": row.previous_valid_until},
    )
    return SecretRotatedOut(
        id=row.id, secret=row.secret, previous_secret_valid_until=row.previous_valid_until
    )


@router.post(
    "/subscriptions/{subscription_id}/ping",
    status_code=202,
    summary="Queue a signed ping event to test the endpoint",
    responses=problem_responses(401, 403, 404, 409),
)
async def ping(subscription_id: uuid.UUID, principal: Manager, s: OrgSession) -> PingOut:
    event_id, message_id = await service.ping(s, principal.org_id, subscription_id)
    return PingOut(subscription_id=subscription_id, event_id=event_id, message_id=message_id)


@router.get(
    "/deliveries",
    summary="Delivery attempts, newest first, with filters and cursor pagination",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_deliveries(
    principal: Manager,
    s: OrgSession,
    subscription_id: uuid.UUID | None = None,
    ok: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPageOut:
    page = await service.list_deliveries(
        s, principal.org_id, subscription_id=subscription_id, ok=ok, cursor=cursor, limit=limit
    )
    return DeliveryPageOut(
        items=[DeliveryOut.model_validate(d, from_attributes=True) for d in page.items],
        next_cursor=page.next_cursor,
    )
