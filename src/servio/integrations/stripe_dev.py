"""A stand-in for Stripe on a machine with no Stripe account: ``servio demo`` and the
tests point the official SDK at it (``SERVIO_STRIPE_API_BASE``).

It answers ``POST /v1/checkout/sessions`` with the form encoding the SDK sends, the
way Stripe does (an ``Idempotency-Key`` replays the first answer), and serves a
checkout page per session. Paying or cancelling there sends the event Stripe would
(``checkout.session.completed`` or ``checkout.session.expired``), signed with
Stripe's scheme, to the deployment's webhook, then returns the customer to the
session's success or cancel URL. Never mounted in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test checkout</title>
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
.box{{border:1px solid #ccc;border-radius:8px;padding:1.5rem}}
button{{font:inherit;padding:.6rem 1.2rem;margin:.3rem .3rem 0 0;cursor:pointer}}
.pay{{background:#635bff;color:#fff;border:0;border-radius:6px}}</style></head>
<body><main class="box"><h1>Test checkout</h1>
<p>{description} for <strong>{email}</strong></p>
<p style="font-size:1.6rem"><strong>{amount}</strong></p>
<p><small>No card is charged: this page stands in for Stripe Checkout.</small></p>
{body}</main></body></html>"""


def event(kind: str, obj: dict[str, Any], event_id: str) -> bytes:
    """An event body as Stripe sends it."""
    body = {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    return json.dumps(body).encode()


def sign(payload: bytes, secret: str, at: int | None = None) -> str:
    """The Stripe-Signature header for ``payload``: t=…,v1=HMAC-SHA256(secret, "t.payload")."""
    # Stripe's own clock: the SDK checks the signature's age against the system time.
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency.upper()}"


class DevStripe:
    """Checkout Sessions kept in memory; ``base_url`` is where this app is reachable,
    ``webhook_url`` and ``webhook_secret`` where and how events are delivered."""

    def __init__(
        self,
        base_url: str = "https://checkout.stripe.test",
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.events = 0
        self.refunds: list[dict[str, Any]] = []
        self._sending: set[asyncio.Task[str | None]] = set()
        self.app = Starlette(
            routes=[
                Route("/v1/checkout/sessions", self.create, methods=["POST"]),
                Route("/v1/refunds", self.refund, methods=["POST"]),
                Route("/pay/{sid}", self.page, methods=["GET"]),
                Route("/pay/{sid}", self.pay, methods=["POST"]),
                Route("/pay/{sid}/cancel", self.cancel, methods=["POST"]),
            ]
        )

    async def create(self, request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse({"error": {"message": "Invalid API Key"}}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        if key and key in self.by_key:
            return JSONResponse(self.by_key[key])
        form = await request.form()
        metadata = {k[9:-1]: str(v) for k, v in form.items() if k.startswith("metadata[")}
        sid = f"cs_test_{len(self.sessions) + 1}"
        session = {
            "id": sid,
            "object": "checkout.session",
            "url": f"{self.base_url}/pay/{sid}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(str(form.get("line_items[0][price_data][unit_amount]"))),
            "currency": str(form.get("line_items[0][price_data][currency]")),
            "customer_email": str(form.get("customer_email", "")),
            "client_reference_id": str(form.get("client_reference_id", "")),
            "description": str(form.get("line_items[0][price_data][product_data][name]", "")),
            "success_url": str(form.get("success_url", "")),
            "cancel_url": str(form.get("cancel_url", "")),
            "payment_intent": None,
            "metadata": metadata,
        }
        self.sessions[sid] = session
        if key:
            self.by_key[key] = session
        return JSONResponse(session)

    async def refund(self, request: Request) -> JSONResponse:
        """``POST /v1/refunds``: answered like Stripe, then ``charge.refunded`` follows
        on the webhook, as Stripe sends it."""
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse({"error": {"message": "Invalid API Key"}}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        done = next((r for r in self.refunds if key and r["idempotency_key"] == key), None)
        if done is not None:
            return JSONResponse(done["refund"])
        form = await request.form()
        intent = str(form.get("payment_intent", ""))
        session = next((x for x in self.sessions.values() if x["payment_intent"] == intent), None)
        if session is None:
            message = f"No such payment_intent: '{intent}'"
            return JSONResponse({"error": {"message": message}}, status_code=400)
        amount = int(str(form.get("amount", session["amount_total"])))
        number = len(self.refunds) + 1
        refund = {
            "id": f"re_test_{number}",
            "object": "refund",
            "amount": amount,
            "payment_intent": intent,
            "status": "succeeded",
        }
        self.refunds.append({"idempotency_key": key, "refund": refund})
        refunded = sum(
            r["refund"]["amount"] for r in self.refunds if r["refund"]["payment_intent"] == intent
        )
        charge = {
            "id": f"ch_test_{intent[8:]}",
            "object": "charge",
            "payment_intent": intent,
            "amount": session["amount_total"],
            "amount_refunded": refunded,
            "refunded": True,
        }
        self.events += 1
        task = asyncio.create_task(
            self._deliver("charge.refunded", charge, f"evt_test_{self.events}")
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return JSONResponse(refund)

    def _render(self, session: dict[str, Any], body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(
            PAGE.format(
                description=html.escape(session["description"] or "Payment"),
                email=html.escape(session["customer_email"]),
                amount=_money(session["amount_total"], session["currency"]),
                body=body,
            ),
            status_code=status,
        )

    async def page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return HTMLResponse("<h1>No such checkout</h1>", status_code=404)
        if session["status"] != "open":
            return self._render(session, f"<p>This checkout is {session['status']}.</p>")
        sid = html.escape(session["id"])
        return self._render(
            session,
            f'<form method="post" action="{self.base_url}/pay/{sid}">'
            '<button class="pay" type="submit">Pay</button></form>'
            f'<form method="post" action="{self.base_url}/pay/{sid}/cancel">'
            '<button type="submit">Cancel</button></form>',
        )

    async def pay(self, request: Request) -> Response:
        return await self._finish(request, paid=True)

    async def cancel(self, request: Request) -> Response:
        return await self._finish(request, paid=False)

    async def _finish(self, request: Request, *, paid: bool) -> Response:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return HTMLResponse("<h1>No such checkout</h1>", status_code=404)
        if session["status"] == "open":
            self.events += 1
            if paid:
                session |= {
                    "status": "complete",
                    "payment_status": "paid",
                    "payment_intent": f"pi_test_{session['id'][8:]}",
                }
            else:
                session["status"] = "expired"
            kind = "checkout.session.completed" if paid else "checkout.session.expired"
            failure = await self._deliver(kind, session, f"evt_test_{self.events}")
            if failure:
                return self._render(session, f"<p>The webhook failed: {failure}</p>", 502)
        done = session["status"] == "complete"
        return RedirectResponse(session["success_url" if done else "cancel_url"], status_code=303)

    async def _deliver(self, kind: str, session: dict[str, Any], event_id: str) -> str | None:
        """Send the event like Stripe would; returns why it failed, if it did."""
        if not self.webhook_url or not self.webhook_secret:
            return None
        payload = event(kind, dict(session), event_id)
        headers = {
            "Stripe-Signature": sign(payload, self.webhook_secret),
            "Content-Type": "application/json",
        }
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(self.webhook_url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            return html.escape(f"{type(exc).__name__}: {exc}")
        if answer.status_code >= 300:
            return html.escape(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return None
