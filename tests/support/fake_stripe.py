"""A local stand-in for Stripe's API: Checkout Sessions created with the form encoding
the official SDK sends, answered like Stripe (an Idempotency-Key replays the first
answer), and webhook events signed with Stripe's own scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeStripe:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.app = Starlette(routes=[Route("/v1/checkout/sessions", self.create, methods=["POST"])])

    async def create(self, request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse({"error": {"message": "Invalid API Key"}}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        if key in self.by_key:
            return JSONResponse(self.by_key[key])
        form = await request.form()
        metadata = {k[9:-1]: str(v) for k, v in form.items() if k.startswith("metadata[")}
        sid = f"cs_test_{len(self.sessions) + 1}"
        session = {
            "id": sid,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{sid}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(str(form.get("line_items[0][price_data][unit_amount]"))),
            "currency": str(form.get("line_items[0][price_data][currency]")),
            "metadata": metadata,
        }
        self.sessions[sid] = session
        self.by_key[key] = session
        return JSONResponse(session)


def event(kind: str, obj: dict[str, Any], event_id: str) -> bytes:
    body = {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    return json.dumps(body).encode()


def sign(payload: bytes, secret: str, at: int | None = None) -> str:
    """The Stripe-Signature header for ``payload``: t=…,v1=HMAC-SHA256(secret, "t.payload")."""
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"
