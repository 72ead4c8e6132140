"""Outbox handlers of WhatsApp: ``whatsapp.send`` (a queued message, through WhatsApp's
API (``sender.WhatsAppSender``), as free text inside the 24 h window and as the org's
approved template outside it) and ``whatsapp.media`` (download an inbound image into
``<var>/media``)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servio.domains.messaging import service, whatsapp
from servio.domains.messaging.models import ChannelMessage
from servio.domains.messaging.sender import SendFailed, WhatsAppSender
from servio.platform.db import Database, utcnow
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure, Skipped

log = logging.getLogger(__name__)
PROVIDER = "whatsapp"


@dataclass(frozen=True)
class WhatsAppConfig:
    sender: WhatsAppSender | None  # None: WhatsApp is not configured
    var_dir: Path
    dry_run: bool = False
    pilot_numbers: frozenset[str] = frozenset()


def _message_id(delivery: Delivery) -> uuid.UUID:
    try:
        return uuid.UUID(str(delivery.payload["message_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"malformed {delivery.kind} payload: {exc}") from exc


def _body(
    message: ChannelMessage, to: str, open_window: bool, templates: dict[str, Any]
) -> dict[str, Any]:
    """What to send: the message itself inside the window (or when it is a template),
    else the org's approved template for its purpose."""
    payload = message.payload or {}
    if message.kind == "template":
        t = payload["template"]
        return whatsapp.template_body(to, t["name"], t["language"], list(t.get("params") or []))
    if open_window:
        text = message.text or ""
        if "buttons" in payload:
            return whatsapp.buttons_body(to, text, payload["buttons"])
        if "list" in payload:
            return whatsapp.list_body(to, text, payload["list"])
        return whatsapp.text_body(to, text)
    purpose = str(payload.get("purpose") or service.DEFAULT_PURPOSE)
    approved = templates.get(purpose)
    if not isinstance(approved, dict) or not approved.get("name"):
        raise PermanentFailure(
            f"the 24 h window with {to} is closed and the org has no approved template "
            f"for purpose {purpose!r} (org setting {service.TEMPLATES_SETTING})"
        )
    params = payload.get("template_params")
    if params is None:
        params = [message.text] if message.text and approved.get("text_param") else []
    return whatsapp.template_body(
        to, str(approved["name"]), str(approved.get("language") or "en"), list(params)
    )


class WhatsAppTasks:
    def __init__(self, db: Database, config: WhatsAppConfig) -> None:
        self.db = db
        self.config = config

    async def _finish(
        self, org_id: uuid.UUID, message_id: uuid.UUID, status: str, **changes: Any
    ) -> None:
        async with self.db.unit_of_work(org_id) as s:
            message = await s.get(ChannelMessage, message_id)
            if message is not None:
                message.status = status
                message.status_at = utcnow()
                if "payload" in changes:
                    changes["payload"] = (message.payload or {}) | changes["payload"]
                for name, value in changes.items():
                    setattr(message, name, value)

    async def _prepare(
        self, org_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[str, dict[str, Any]] | None:
        """The phone number id to send from and the body; None when already sent."""
        async with self.db.unit_of_work(org_id) as s:
            message = await s.get(ChannelMessage, message_id)
            if message is None:
                raise PermanentFailure(f"message {message_id} is gone")
            if message.status != "queued":
                return None
            to = message.contact
            if self.config.pilot_numbers and to not in self.config.pilot_numbers:
                raise Skipped(f"{to} is not on the pilot list (SERVIO_WHATSAPP_PILOT_NUMBERS)")
            contact = await service.contact(s, org_id, whatsapp.CHANNEL, to)
            if contact is not None and contact.opted_out:
                raise Skipped(f"{to} opted out of messages")
            sender = await service.phone_number_of(s, org_id)
            if sender is None:
                raise PermanentFailure(f"the org has no {service.PHONE_NUMBER_SETTING} setting")
            templates = await service.templates_of(s, org_id)
            return sender, _body(message, to, service.in_window(contact), templates)

    async def send(self, delivery: Delivery) -> None:
        org_id, message_id = delivery.org_id, _message_id(delivery)
        if org_id is None:
            raise PermanentFailure("a whatsapp.send message needs an org")
        try:
            prepared = await self._prepare(org_id, message_id)
        except Skipped as exc:
            await self._finish(org_id, message_id, "skipped", error=str(exc))
            raise
        except PermanentFailure as exc:
            await self._finish(org_id, message_id, "failed", error=str(exc))
            raise
        if prepared is None:
            return
        sender, body = prepared
        if self.config.dry_run:
            log.info("whatsapp dry run: from %s: %s", sender, body)
            sent_as = {"kind": "template"} if body["type"] == "template" else {}
            await self._finish(
                org_id, message_id, "dry_run", payload=_with(body, delivery), **sent_as
            )
            return
        if self.config.sender is None:
            raise PermanentFailure("WhatsApp is not configured (SERVIO_WHATSAPP_ACCESS_TOKEN)")
        try:
            wamid = await self.config.sender.send_message(sender, body)
        except SendFailed as exc:
            if exc.retryable:
                raise  # the outbox retries with backoff behind the whatsapp circuit
            await self._finish(org_id, message_id, "failed", error=exc.message)
            raise PermanentFailure(exc.message) from exc
        sent_as = {"kind": "template"} if body["type"] == "template" else {}
        await self._finish(
            org_id,
            message_id,
            "sent",
            provider_message_id=wamid,
            sent_at=utcnow(),
            payload=_with(body, delivery),
            **sent_as,
        )

    async def fetch_media(self, delivery: Delivery) -> None:
        org_id, message_id = delivery.org_id, _message_id(delivery)
        media_id = str((delivery.payload or {}).get("media_id") or "")
        if org_id is None or not media_id:
            raise PermanentFailure("a whatsapp.media message needs an org and a media id")
        if self.config.sender is None:
            raise PermanentFailure("WhatsApp is not configured (SERVIO_WHATSAPP_ACCESS_TOKEN)")
        try:
            media = await self.config.sender.media(media_id)
            data = await self.config.sender.download(media.url)
        except SendFailed as exc:
            if exc.retryable:
                raise
            raise PermanentFailure(exc.message) from exc
        digest = hashlib.sha256(data).hexdigest()
        relative = Path("media") / str(org_id) / digest
        target = self.config.var_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)
        async with self.db.unit_of_work(org_id) as s:
            message = await s.get(ChannelMessage, message_id)
            if message is None:
                raise PermanentFailure(f"message {message_id} is gone")
            message.media_ref = str(relative)
            message.payload = (message.payload or {}) | {
                "media": {"mime_type": media.mime_type, "sha256": digest, "bytes": len(data)}
            }


def _with(body: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
    return {"request": body, "dedupe_key": delivery.dedupe_key}


def register_handlers(registry: OutboxRegistry, db: Database, config: WhatsAppConfig) -> None:
    tasks = WhatsAppTasks(db, config)
    registry.register(service.SEND, tasks.send, provider=PROVIDER, timeout_seconds=30)
    registry.register(service.FETCH_MEDIA, tasks.fetch_media, provider=PROVIDER, timeout_seconds=60)
