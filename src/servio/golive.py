"""Go-live checks against a running deployment (``servio check-live``): health and
readiness, WhatsApp's verification handshake and webhook signature check, admin
authentication, and Stripe's webhook signature check.

Each check is a function of an HTTP client (and the secret it needs) returning
``Check`` results; a check whose secret is not given is reported as skipped. No
business data changes: the signed WhatsApp delivery is a status update for a number no
business owns (ignored), and the correctly signed Stripe event is of a type nobody
handles (kept in the inbound event store as ignored, pruned by retention)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

Outcome = Literal["pass", "fail", "skipped"]
WHATSAPP = "/webhooks/whatsapp"
STRIPE = "/webhooks/stripe"
ADMIN = "/admin/leads"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Secrets:
    verify_token: str | None = None
    app_secret: str | None = None
    admin_key: str | None = None
    stripe_secret: str | None = None


def _expect(name: str, r: httpx.Response, status: int, ok: bool = True, why: str = "") -> Check:
    """Pass when the response has ``status`` and ``ok`` holds; else say what came back."""
    if r.status_code == status and ok:
        return Check(name, "pass", f"{r.status_code}")
    got = why if r.status_code == status else f"expected {status}, got {r.status_code}"
    return Check(name, "fail", got)


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _skipped(name: str, option: str) -> Check:
    return Check(name, "skipped", f"no {option} given")


def check_health(client: httpx.Client) -> list[Check]:
    r = client.get("/health")
    health = _expect("GET /health ok", r, 200, _json(r).get("ok") is True, "ok is not true")
    r = client.get("/ready")
    connected = _json(r).get("database") == "connected"
    ready = _expect("GET /ready database connected", r, 200, connected, "database not connected")
    return [health, ready]


def check_verify(client: httpx.Client, token: str | None) -> list[Check]:
    """The handshake echoes the challenge for the right token and refuses a wrong one."""
    challenge = secrets.token_hex(8)

    def handshake(given: str) -> httpx.Response:
        params = {"hub.mode": "subscribe", "hub.verify_token": given, "hub.challenge": challenge}
        return client.get(WHATSAPP, params=params)

    name = "WhatsApp verify: right token echoes the challenge"
    if token is None:
        right = _skipped(name, "--verify-token")
    else:
        r = handshake(token)
        right = _expect(name, r, 200, r.text == challenge, "the challenge was not echoed")
    wrong = _expect("WhatsApp verify: wrong token 403", handshake("wrong-" + challenge), 403)
    return [right, wrong]


def status_only_payload() -> bytes:
    """A status update for a phone number id no business owns: acknowledged, ignored."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "0", "phone_number_id": "check-live"},
        "statuses": [
            {
                "id": f"wamid.check-live.{secrets.token_hex(8)}",
                "status": "delivered",
                "timestamp": str(int(time.time())),
                "recipient_id": "0",
            }
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "check-live", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def whatsapp_signature(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def check_whatsapp_webhook(client: httpx.Client, app_secret: str | None) -> list[Check]:
    body = status_only_payload()
    headers = {"Content-Type": "application/json"}
    name = "WhatsApp webhook: signed status-only POST 200"
    if app_secret is None:
        signed = _skipped(name, "--app-secret")
    else:
        sig = {"X-Hub-Signature-256": whatsapp_signature(body, app_secret)}
        signed = _expect(name, client.post(WHATSAPP, content=body, headers=headers | sig), 200)
    unsigned = client.post(WHATSAPP, content=body, headers=headers)
    return [signed, _expect("WhatsApp webhook: unsigned POST 401", unsigned, 401)]


def check_admin(client: httpx.Client, admin_key: str | None) -> list[Check]:
    header = "X-Admin-API-Key"
    checks = [
        _expect(f"GET {ADMIN}: no key 401", client.get(ADMIN), 401),
        _expect(
            f"GET {ADMIN}: wrong key 403",
            client.get(ADMIN, headers={header: "svk_check_live_wrong"}),
            403,
        ),
    ]
    name = f"GET {ADMIN}: right key 200"
    if admin_key is None:
        return [*checks, _skipped(name, "--admin-key")]
    return [*checks, _expect(name, client.get(ADMIN, headers={header: admin_key}), 200)]


def stripe_signature(body: bytes, secret: str, at: int | None = None) -> str:
    """``Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")``."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def check_stripe(client: httpx.Client, stripe_secret: str | None) -> list[Check]:
    """A bad signature is refused; with the secret, a signed event of a type nobody
    handles is accepted (the deployment holds the same secret)."""
    event = {
        "id": f"evt_check_live_{secrets.token_hex(8)}",
        "object": "event",
        "type": "servio.check_live",
        "data": {"object": {}},
    }
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    bad = {"Stripe-Signature": stripe_signature(body, "whsec_check_live_wrong")}
    refused = _expect(
        "Stripe webhook: bad signature 400",
        client.post(STRIPE, content=body, headers=headers | bad),
        400,
    )
    name = "Stripe webhook: signed event 200"
    if stripe_secret is None:
        return [refused, _skipped(name, "--stripe-secret")]
    good = {"Stripe-Signature": stripe_signature(body, stripe_secret)}
    return [refused, _expect(name, client.post(STRIPE, content=body, headers=headers | good), 200)]


def _guarded(name: str, check: Callable[[], list[Check]]) -> list[Check]:
    """A check the deployment could not answer fails rather than stopping the others."""
    try:
        return check()
    except httpx.HTTPError as exc:
        return [Check(name, "fail", f"{type(exc).__name__}: {exc}")]


def run_checks(client: httpx.Client, given: Secrets) -> list[Check]:
    """Every go-live check, in order, against the deployment ``client`` talks to."""
    return [
        *_guarded("health and readiness", lambda: check_health(client)),
        *_guarded("WhatsApp verify", lambda: check_verify(client, given.verify_token)),
        *_guarded("WhatsApp webhook", lambda: check_whatsapp_webhook(client, given.app_secret)),
        *_guarded("admin auth", lambda: check_admin(client, given.admin_key)),
        *_guarded("Stripe webhook", lambda: check_stripe(client, given.stripe_secret)),
    ]


def failed(checks: list[Check]) -> bool:
    return any(c.outcome == "fail" for c in checks)
