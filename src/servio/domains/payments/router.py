"""Stripe's webhook: ``POST /v1/stripe/webhook`` (alias ``POST /webhooks/stripe``).

The signature is checked on the raw body; each event is stored once in the inbound
event store and applied in the same transaction, so a replay changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from servio.domains.payments import deps
from servio.domains.payments.gateway import InvalidSignature, PaymentGateway
from servio.platform.http.auth import database
from servio.platform.http.problems import problem_responses
from servio.platform.inbox import mark_processed, record_event

router = APIRouter(tags=["payments"])


def gateway_of(request: Request) -> PaymentGateway:
    gateway = deps.gateway(request)
    if gateway is None:
        raise InvalidSignature("Stripe is not configured on this deployment.")
    return gateway


async def _receive(request: Request) -> dict[str, Any]:
    event = gateway_of(request).parse_event(
        await request.body(), request.headers.get("stripe-signature")
    )
    async with database(request).unit_of_work(system=True) as s:
        row, new = await record_event(
            s, provider="stripe", event_id=str(event["id"]), payload=event
        )
        if not new:
            return {"received": True, "duplicate": True}
        outcome = await deps.holder(request).apply_provider_event(s, event)
        await mark_processed(s, row, outcome)
    return {"received": True, "outcome": outcome}


@router.post(
    "/v1/stripe/webhook",
    summary="Stripe events (signature checked, each applied once)",
    responses=problem_responses(400),
)
async def stripe_webhook(request: Request) -> dict[str, Any]:
    return await _receive(request)


@router.post(
    "/webhooks/stripe",
    summary="Stripe events (alias of /v1/stripe/webhook)",
    responses=problem_responses(400),
)
async def stripe_webhook_alias(request: Request) -> dict[str, Any]:
    return await _receive(request)
