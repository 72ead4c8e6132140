"""WhatsApp's webhook: ``GET /webhooks/whatsapp`` (Meta's verification handshake) and
``POST /webhooks/whatsapp`` (signed events, applied once each)."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from servio.domains.messaging import inbound
from servio.domains.messaging.whatsapp import signature_ok
from servio.platform.errors import DomainError
from servio.platform.http.auth import database
from servio.platform.http.problems import problem_responses
from servio.platform.http.services import deployment, metrics

router = APIRouter(tags=["messaging"])


class VerificationRefused(DomainError):
    status = 403
    type = "whatsapp-verification-refused"
    title = "The verify token does not match"


class InvalidWebhookSignature(DomainError):
    status = 401
    type = "invalid-webhook-signature"
    title = "The webhook signature is missing or wrong"
    description = "X-Hub-Signature-256 must be sha256=<HMAC-SHA256 of the raw body>."


def _secret(request: Request, name: str) -> str | None:
    value = getattr(deployment(request), name)
    return value.get_secret_value() if value is not None else None


def _param(request: Request, name: str) -> str | None:
    params = request.query_params
    return params.get(f"hub.{name}") or params.get(f"hub_{name}")


@router.get(
    "/webhooks/whatsapp",
    summary="WhatsApp's verification handshake (answers hub.challenge)",
    response_class=PlainTextResponse,
    responses=problem_responses(403),
)
async def verify(request: Request) -> PlainTextResponse:
    token = _secret(request, "whatsapp_verify_token")
    given = _param(request, "verify_token")
    challenge = _param(request, "challenge")
    if (
        _param(request, "mode") != "subscribe"
        or not token
        or given is None
        or challenge is None
        or not _same(given, token)
    ):
        raise VerificationRefused("Check SERVIO_WHATSAPP_VERIFY_TOKEN and hub.mode=subscribe.")
    return PlainTextResponse(challenge)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@router.post(
    "/webhooks/whatsapp",
    summary="WhatsApp events (signature checked, each message applied once)",
    responses=problem_responses(401),
)
async def receive(request: Request) -> dict[str, Any]:
    """Only a bad signature is refused. A signed body that is not a JSON object, and a
    message of a type the engine cannot read (audio, stickers...), is acknowledged (Meta
    would otherwise retry it for days), stored as rejected and counted in
    ``servio_webhook_events_rejected_total``."""
    body = await request.body()
    header = request.headers.get("x-hub-signature-256")
    if not signature_ok(body, header, _secret(request, "whatsapp_app_secret")):
        raise InvalidWebhookSignature()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    async with database(request).unit_of_work(system=True) as session:
        if not isinstance(payload, dict):
            await inbound.reject(session, body, "the body is not a JSON object")
            metrics(request).webhook_rejected.labels("whatsapp").inc()
            return {"received": True, "rejected": 1}
        counts = await inbound.apply_webhook(session, payload)
    if counts.get("rejected"):  # messages of a kind we cannot read (audio, stickers...)
        metrics(request).webhook_rejected.labels("whatsapp").inc(counts["rejected"])
    return {"received": True, **counts}
