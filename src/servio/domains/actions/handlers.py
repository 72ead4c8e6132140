"""Outbox handler: a consultation waits for the studio's decision
(``conversation.review_requested``). The owners and admins each get one email with the
answers and single-use Approve and Reject links; the first link used decides, and the
contact is told through their channel (see ``service.use``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from servio.domains.actions import service
from servio.domains.conversations import service as conversations
from servio.domains.identity import service as identity
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.email import send_email
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure, Skipped

EMAIL_TEMPLATES = Path(__file__).parent / "templates"
REVIEW_LINK_TTL = timedelta(days=7)
REVIEWER_ROLES = ("OWNER", "ADMIN")


@dataclass(frozen=True)
class ReviewRequests:
    db: Database
    settings: Settings

    async def send(self, delivery: Delivery) -> None:
        org_id = delivery.org_id
        try:
            conversation_id = uuid.UUID(delivery.payload["conversation_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"malformed review request: {exc}") from exc
        if org_id is None:
            raise PermanentFailure("a review request must belong to an org")
        async with self.db.unit_of_work(org_id) as s:
            row = await conversations.get(s, org_id, conversation_id)
            if row.stage != "NEEDS_ARTIST_REVIEW":
                raise Skipped(f"the conversation moved on to {row.stage}")
            reviewers = await identity.staff_emails(s, org_id, roles=REVIEWER_ROLES)
            if not reviewers:
                raise Skipped("nobody can review: the org has no owner or admin address")
            org = await identity.get_org(s, org_id)
            links = {
                kind: await service.create_link(
                    s,
                    org_id,
                    f"design.{kind}",
                    conversation_id,
                    REVIEW_LINK_TTL,
                    "system:review-request",
                    settings=self.settings,
                )
                for kind in ("approve", "reject")
            }
            context = {
                "answers": conversations.review_summary(row, org.vertical),
                "channel": row.channel,
                "approve_url": links["approve"],
                "reject_url": links["reject"],
                "days": REVIEW_LINK_TTL.days,
            }
            for to in reviewers:
                await send_email(
                    s,
                    to=to,
                    template="actions/review_request",
                    context=context,
                    dedupe_key=f"review-request:{delivery.dedupe_key}:{to}",
                    org_id=org_id,
                )


def register_handlers(registry: OutboxRegistry, db: Database, settings: Settings) -> None:
    registry.register(conversations.REVIEW_REQUESTED, ReviewRequests(db, settings).send)
