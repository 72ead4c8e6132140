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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.db import Database
from servio.platform.email.composing import compose
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
) -> OutboxMessage:
    """Record an email to send after commit. The same ``dedupe_key`` sends once;
    ``context`` must be JSON (it is rendered later, by a worker)."""
    to = to.strip()
    if "@" not in to or any(c in to for c in "\r\n,<>"):
        raise ValueError(f"not a single email address: {to!r}")
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    payload = {
        "to": to,
        "template": template,
        "context": json.loads(json.dumps(dict(context))),
        "category": category,
        "org_id": str(org_id) if org_id else None,
    }
    return await add(
        session, kind=KIND, payload=payload, dedupe_key=f"{KIND}:{dedupe_key}", org_id=org_id
    )


@dataclass(frozen=True)
class EmailPayload:
    to: str
    template: str
    context: Mapping[str, Any]
    category: str
    org_id: uuid.UUID | None

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
