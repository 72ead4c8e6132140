"""Outbox handler: tell a referrer they earned credit (``referral.credited``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from servio.domains.intake.models import Lead
from servio.domains.intake.service import REFERRAL_CREDITED, readable
from servio.platform.db import Database
from servio.platform.email import send_email
from servio.platform.outbox import Delivery, OutboxRegistry, PermanentFailure, Skipped


@dataclass(frozen=True)
class ReferralNotices:
    db: Database

    async def credited(self, delivery: Delivery) -> None:
        """Queue the "you earned credit" email to the referrer, once per referred lead
        (a retried delivery finds the email already queued)."""
        org_id = delivery.org_id
        try:
            referrer_id = uuid.UUID(delivery.payload["referrer_id"])
            referred_id = uuid.UUID(delivery.payload["referred_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"malformed {REFERRAL_CREDITED} payload: {exc}") from exc
        if org_id is None:
            raise PermanentFailure(f"a {REFERRAL_CREDITED} message must belong to an org")
        async with self.db.unit_of_work(org_id) as s:
            referrer = await s.scalar(readable(org_id).where(Lead.id == referrer_id))
            if referrer is None:
                raise Skipped("the referrer's lead no longer exists")
            await send_email(
                s,
                to=referrer.email,
                template="intake/referral_credited",
                context={"name": referrer.name, "referral_code": referrer.referral_code},
                dedupe_key=f"referral-credited:{referred_id}",
                org_id=org_id,
            )


def register_handlers(registry: OutboxRegistry, db: Database) -> None:
    registry.register(REFERRAL_CREDITED, ReferralNotices(db).credited)
