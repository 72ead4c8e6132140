"""A stand-in for Stripe on a machine with no Stripe account: ``servio demo`` and the
tests point the official SDK at it (``SERVIO_STRIPE_API_BASE``).

It answers ``POST /v1/checkout/sessions`` with the form encoding the SDK sends, the
way Stripe does (an ``Idempotency-Key`` replays the first answer), and serves a
checkout page per session. Paying or cancelling there sends the event Stripe would
(``checkout.session.completed`` or ``checkout.session.expired``), signed with
Stripe's scheme, to the deployment's webhook, then returns the customer to the
session's success or cancel URL. Never mounted in production.

Ids are random (``cs_test_<hex>``, ``evt_test_<hex>``) as Stripe's are, so that a
restarted demo never hands out an id the database already holds. Sessions live in a
``SessionStore``: in memory, or on disk (``FileSessions``) so that a restarted demo still
serves the pay links it emailed before.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

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


def random_id(prefix: str) -> str:
    """A new object id as Stripe makes them: the kind's prefix and random characters."""
    return f"{prefix}_test_{secrets.token_hex(12)}"


def counting_ids() -> Callable[[str], str]:
    """Ids numbered per kind from 1 (``cs_test_1``, ``evt_test_1``), for tests that name
    them; never for a demo that may restart on the same database."""
    counts: dict[str, int] = {}

    def next_id(prefix: str) -> str:
        counts[prefix] = counts.get(prefix, 0) + 1
        return f"{prefix}_test_{counts[prefix]}"

    return next_id


class SessionStore(Protocol):
    """Where Checkout Sessions are kept, by id and by the idempotency key that made them."""

    def get(self, sid: str) -> dict[str, Any] | None: ...

    def put(self, session: dict[str, Any], key: str = "") -> None: ...

    def by_key(self, key: str) -> dict[str, Any] | None: ...

    def __iter__(self) -> Iterator[dict[str, Any]]: ...


class MemorySessions:
    """Sessions for the life of the process (tests)."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}

    def get(self, sid: str) -> dict[str, Any] | None:
        return self.sessions.get(sid)

    def put(self, session: dict[str, Any], key: str = "") -> None:
        self.sessions[session["id"]] = session
        if key:
            self.keys[key] = session["id"]

    def by_key(self, key: str) -> dict[str, Any] | None:
        return self.sessions.get(self.keys.get(key, ""))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.sessions.values()))


_SAFE_ID = re.compile(r"^[A-Za-z0-9_]{1,100}$")


class FileSessions:
    """Sessions as JSON files under ``root`` (one per session, written atomically), so a
    restarted demo on the same ``./var`` still serves the checkouts it made before."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.keys_dir = root / "keys"

    def _path(self, sid: str) -> Path | None:
        return self.root / f"{sid}.json" if _SAFE_ID.match(sid) else None

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)

    def get(self, sid: str) -> dict[str, Any] | None:
        path = self._path(sid)
        if path is None or not path.is_file():
            return None
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def put(self, session: dict[str, Any], key: str = "") -> None:
        path = self._path(session["id"])
        if path is None:
            raise ValueError(f"not a session id: {session['id']!r}")
        self._write(path, json.dumps(session))
        if key:
            self._write(self.keys_dir / hashlib.sha256(key.encode()).hexdigest(), session["id"])

    def by_key(self, key: str) -> dict[str, Any] | None:
        path = self.keys_dir / hashlib.sha256(key.encode()).hexdigest()
        return self.get(path.read_text(encoding="utf-8").strip()) if path.is_file() else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.root.glob("*.json")):
            found = self.get(path.stem)
            if found is not None:
                yield found


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency.upper()}"


class DevStripe:
    """Checkout Sessions kept in ``store`` (memory by default); ``base_url`` is where this
    app is reachable, ``webhook_url`` and ``webhook_secret`` where and how events are
    delivered; ``ids`` makes object ids (random by default)."""

    def __init__(
        self,
        base_url: str = "https://checkout.stripe.test",
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        store: SessionStore | None = None,
        ids: Callable[[str], str] = random_id,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.store: SessionStore = store if store is not None else MemorySessions()
        self.new_id = ids
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

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """Every session by id, as stored."""
        return {session["id"]: session for session in self.store}

    async def create(self, request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse({"error": {"message": "Invalid API Key"}}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        replayed = self.store.by_key(key) if key else None
        if replayed is not None:
            return JSONResponse(replayed)
        form = await request.form()
        metadata = {k[9:-1]: str(v) for k, v in form.items() if k.startswith("metadata[")}
        sid = self.new_id("cs")
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
        self.store.put(session, key)
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
        session = next((x for x in self.store if x["payment_intent"] == intent), None)
        if session is None:
            message = f"No such payment_intent: '{intent}'"
            return JSONResponse({"error": {"message": message}}, status_code=400)
        amount = int(str(form.get("amount", session["amount_total"])))
        refund = {
            "id": self.new_id("re"),
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
            "id": f"ch_{intent.removeprefix('pi_')}",
            "object": "charge",
            "payment_intent": intent,
            "amount": session["amount_total"],
            "amount_refunded": refunded,
            "refunded": True,
        }
        self.events += 1
        task = asyncio.create_task(self._deliver("charge.refunded", charge, self.new_id("evt")))
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
        session = self.store.get(request.path_params["sid"])
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
        session = self.store.get(request.path_params["sid"])
        if session is None:
            return HTMLResponse("<h1>No such checkout</h1>", status_code=404)
        if session["status"] == "open":
            self.events += 1
            if paid:
                session |= {
                    "status": "complete",
                    "payment_status": "paid",
                    "payment_intent": f"pi_{session['id'].removeprefix('cs_')}",
                }
            else:
                session["status"] = "expired"
            self.store.put(session)
            kind = "checkout.session.completed" if paid else "checkout.session.expired"
            failure = await self._deliver(kind, session, self.new_id("evt"))
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
