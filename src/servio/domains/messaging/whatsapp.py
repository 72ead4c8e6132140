"""WhatsApp Cloud API specifics: the webhook's signature, its payload read into plain
events, and the bodies of the messages we send."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from servio.platform.db import utcnow

CHANNEL = "whatsapp"
MAX_TEXT = 4096  # WhatsApp's own limit for a text body
MAX_BUTTONS = 3


def signature_ok(body: bytes, header: str | None, app_secret: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, compared in
    constant time; False when anything is missing."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def e164(wa_id: str) -> str:
    """WhatsApp's ``wa_id`` (digits) as E.164 (``+`` and digits)."""
    digits = "".join(ch for ch in str(wa_id) if ch.isdigit())
    return f"+{digits}"


def _when(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


@dataclass
class Inbound:
    """A message a customer sent."""

    phone_number_id: str
    message_id: str
    sender: str
    at: datetime
    kind: str
    text: str | None = None
    reply_id: str | None = None
    media_id: str | None = None
    name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusUpdate:
    """What became of a message we sent (sent, delivered, read, failed)."""

    phone_number_id: str
    message_id: str
    status: str
    at: datetime
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _read_message(pni: str, names: dict[str, str], msg: dict[str, Any]) -> Inbound | None:
    message_id, sender = msg.get("id"), msg.get("from")
    if not isinstance(message_id, str) or not message_id or not sender:
        return None
    kind = str(msg.get("type") or "unknown")[:20]
    event = Inbound(pni, message_id, e164(sender), _when(msg.get("timestamp")), kind, raw=msg)
    event.name = names.get(str(sender))
    if kind == "text":
        event.text = str((msg.get("text") or {}).get("body") or "")[:MAX_TEXT]
    elif kind == "interactive":
        interactive = msg.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        event.reply_id = reply.get("id")
        event.text = reply.get("title")
    elif kind == "button":  # a quick-reply button of a template
        button = msg.get("button") or {}
        event.kind, event.reply_id, event.text = (
            "interactive",
            button.get("payload"),
            button.get("text"),
        )
    elif kind == "image":
        image = msg.get("image") or {}
        event.media_id = image.get("id")
        event.text = image.get("caption")
    return event


def _read_status(pni: str, status: dict[str, Any]) -> StatusUpdate | None:
    message_id, name = status.get("id"), status.get("status")
    if not isinstance(message_id, str) or not isinstance(name, str):
        return None
    errors = status.get("errors") or []
    error = None
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        error = str(first.get("message") or first.get("title") or first.get("code"))
    return StatusUpdate(pni, message_id, name, _when(status.get("timestamp")), error, status)


def read_events(payload: Any) -> list[Inbound | StatusUpdate]:
    """Every message and status of every entry and change, oldest first (Meta may batch
    and reorder them). Parts that do not have the fields they need are left out."""
    events: list[Inbound | StatusUpdate] = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            pni = str((value.get("metadata") or {}).get("phone_number_id") or "")
            names = {
                str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                for c in value.get("contacts") or []
                if isinstance(c, dict)
            }
            for msg in value.get("messages") or []:
                if isinstance(msg, dict) and (inbound := _read_message(pni, names, msg)):
                    events.append(inbound)
            for status in value.get("statuses") or []:
                if isinstance(status, dict) and (update := _read_status(pni, status)):
                    events.append(update)
    events.sort(key=lambda e: e.at)  # stable: same-second events keep their order
    return events


def text_body(to: str, text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text[:MAX_TEXT], "preview_url": False}} | _to(to)


def buttons_body(to: str, text: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    reply_buttons = [
        {"type": "reply", "reply": {"id": b["id"], "title": b["title"][:20]}}
        for b in buttons[:MAX_BUTTONS]
    ]
    interactive = {"type": "button", "body": {"text": text}, "action": {"buttons": reply_buttons}}
    return {"type": "interactive", "interactive": interactive} | _to(to)


def list_body(to: str, text: str, choices: dict[str, Any]) -> dict[str, Any]:
    """``choices``: {"button": label, "sections": [{"title", "rows": [{"id", "title"}]}]}."""
    action = {"button": choices.get("button", "Choose"), "sections": choices["sections"]}
    interactive = {"type": "list", "body": {"text": text}, "action": action}
    return {"type": "interactive", "interactive": interactive} | _to(to)


def template_body(to: str, name: str, language: str, params: list[str]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        parameters = [{"type": "text", "text": str(p)} for p in params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": template} | _to(to)


def _to(to: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+")}
