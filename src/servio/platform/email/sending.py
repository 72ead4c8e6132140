"""Sending email through the outbox: ``send_email`` records the message in the
caller's transaction; after commit a worker renders and sends it (``EmailDelivery``).

A suppressed recipient is skipped (final, not retried); a template that does not
render and a hard bounce are dead-lettered (the bounce also suppresses the address);
anything else (server down, timeout, 4xx) is retried with backoff behind the
provider's circuit breaker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database
from servio.platform.db.scoped import owned
from servio.platform.email.composing import Attachment, compose
from servio.platform.email.mailers import Mailer, MessageRejected, RecipientRejected
from servio.platform.email.rendering import Branding, EmailTemplates, TemplateError, Vertical
from servio.platform.email.suppressions import TRANSACTIONAL, suppress, suppression_of
from servio.platform.email.unsubscribe import UnsubscribeLinks
from servio.platform.logging import get_logger
from servio.platform.outbox import (
    Delivery,
    OutboxMessage,
    OutboxRegistry,
    PermanentFailure,
    Skipped,
    add,
)

log = get_logger("servio.email")
KIND = "email.send"
CATEGORIES = (TRANSACTIONAL, "marketing")
# Attachments travel inside the outbox row; larger files belong in storage, linked.
MAX_ATTACHMENTS_BYTES = 1024 * 1024

Look = tuple[Branding, Vertical]
LookOf = Callable[[AsyncSession, uuid.UUID | None], Awaitable[Look]]
"""The branding and vertical of an org (None: the deployment's own mail)."""


async def deployment_look(_session: AsyncSession, _org_id: uuid.UUID | None) -> Look:
    return Branding(), Vertical()


async def send_email(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: Mapping[str, Any],
    dedupe_key: str,
    org_id: uuid.UUID | None = None,
    category: str = TRANSACTIONAL,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Record an email to send after commit. The same ``dedupe_key`` sends once;
    ``context`` must be JSON (it is rendered later, by a worker); ``attachments`` are
    carried in the message, at most ``MAX_ATTACHMENTS_BYTES`` together."""
    to = to.strip()
    if "@" not in to or any(c in to for c in "\r\n,<>"):
        raise ValueError(f"not a single email address: {to!r}")
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    if sum(a.size for a in attachments) > MAX_ATTACHMENTS_BYTES:
        raise ValueError(f"attachments exceed {MAX_ATTACHMENTS_BYTES} bytes together")
    payload = {
        "to": to,
        "template": template,
        "context": json.loads(json.dumps(dict(context))),
        "category": category,
        "org_id": str(org_id) if org_id else None,
        "attachments": [a.as_json() for a in attachments],
    }
    return await add(
        session, kind=KIND, payload=payload, dedupe_key=f"{KIND}:{dedupe_key}", org_id=org_id
    )


async def last_email(
    session: AsyncSession, *, org_id: uuid.UUID, key_prefix: str
) -> OutboxMessage | None:
    """The org's latest email whose ``dedupe_key`` (as given to ``send_email``) starts
    with ``key_prefix``, whatever became of it; None when there is none."""
    return await session.scalar(
        owned(OutboxMessage, org_id)
        .where(
            OutboxMessage.kind == KIND,
            OutboxMessage.dedupe_key.startswith(f"{KIND}:{key_prefix}", autoescape=True),
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )


async def resend_email(
    session: AsyncSession, original: OutboxMessage, *, dedupe_key: str
) -> OutboxMessage:
    """Record ``original`` again, the same message under a new ``dedupe_key``."""
    if original.kind != KIND:
        raise ValueError(f"outbox message {original.id} is not an email")
    return await add(
        session,
        kind=KIND,
        payload=original.payload,
        dedupe_key=f"{KIND}:{dedupe_key}",
        org_id=original.org_id,
    )


@dataclass(frozen=True)
class EmailPayload:
    to: str
    template: str
    context: Mapping[str, Any]
    category: str
    org_id: uuid.UUID | None
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def of(cls, payload: Any) -> EmailPayload:
        try:
            org = payload.get("org_id")
            return cls(
                to=str(payload["to"]),
                template=str(payload["template"]),
                context=dict(payload.get("context") or {}),
                category=str(payload.get("category") or TRANSACTIONAL),
                org_id=uuid.UUID(org) if org else None,
                attachments=tuple(
                    Attachment.from_json(a) for a in payload.get("attachments") or ()
                ),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"malformed email payload: {exc}") from exc


@dataclass
class EmailDelivery:
    """The outbox handler of ``email.send``."""

    db: Database
    mailer: Mailer
    templates: EmailTemplates
    sender: str
    links: UnsubscribeLinks
    look_of: LookOf = deployment_look

    async def __call__(self, delivery: Delivery) -> None:
        email = EmailPayload.of(delivery.payload)
        async with self.db.unit_of_work(system=True) as s:
            blocked = await suppression_of(
                s, email.to, org_id=email.org_id, category=email.category
            )
            if blocked is not None:
                log.info("email_skipped", outbox_id=str(delivery.id), reason=blocked.reason)
                raise Skipped(f"the address is suppressed ({blocked.reason})")
            branding, vertical = await self.look_of(s, email.org_id)
        unsubscribe = None
        if email.category != TRANSACTIONAL:
            unsubscribe = self.links.token(email.to, email.org_id)
        try:
            rendered = self.templates.render(
                email.template,
                email.context,
                org_branding=branding,
                vertical=vertical,
                unsubscribe_url=self.links.url(unsubscribe) if unsubscribe else None,
            )
        except TemplateError as exc:
            raise PermanentFailure(str(exc)) from exc
        message = compose(
            rendered,
            to=email.to,
            sender=self.sender,
            message_key=delivery.dedupe_key,
            list_unsubscribe=self.links.header(unsubscribe) if unsubscribe else None,
            attachments=email.attachments,
        )
        await self._send(message, email)

    async def _send(self, message: Any, email: EmailPayload) -> None:
        try:
            await self.mailer.send(message)
        except RecipientRejected as exc:
            async with self.db.unit_of_work(system=True) as s:
                await suppress(s, address=email.to, reason="bounce")
            raise PermanentFailure(str(exc)) from exc
        except MessageRejected as exc:
            raise PermanentFailure(str(exc)) from exc


def register_email(
    registry: OutboxRegistry, delivery: EmailDelivery, *, timeout_seconds: float
) -> None:
    """Deliver ``email.send`` messages behind the mailer's circuit breaker."""
    registry.register(
        KIND, delivery, provider=delivery.mailer.provider, timeout_seconds=timeout_seconds
    )
