"""Action links: signed, single-use, expiring links that let staff act from a message
(confirm a booking, mark a deposit paid, approve or reject a design).

A design link's subject is the conversation whose design the artist reviews: approving
takes the booking path (the conversation awaits its deposit and the contact gets the
deposit request with its checkout link, or free times to pick), rejecting ends it with
a polite word to the contact (see ``conversations.service.decide_design``).

The token is the link's id and a random nonce, signed with ``SERVIO_SECRET_KEY``
(itsdangerous); only its SHA-256 is stored. Opening the link changes nothing; using it
(a POST) claims the row with a conditional UPDATE — ``used_at`` still empty and not
expired — so of two concurrent uses exactly one acts. The action runs in the claim's
transaction under the link's org; an action the domain refuses still uses the link up
and its refusal is kept as the result.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.actions.models import ActionLink
from servio.domains.bookings import service as bookings
from servio.domains.conversations import service as conversations
from servio.platform.audit import record
from servio.platform.config import Settings
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import in_org, owned
from servio.platform.errors import DomainError, NotFound
from servio.platform.security.opaque import digest, same

KINDS: dict[str, str] = {
    "booking.confirm": "Confirm the booking",
    "deposit.mark_paid": "Mark the deposit paid",
    "design.approve": "Approve the design",
    "design.reject": "Reject the design",
}
BOOKING_KINDS = frozenset({"booking.confirm", "deposit.mark_paid"})
DESIGN_KINDS = frozenset({"design.approve", "design.reject"})
DECISIONS = {"design.approve": "approved", "design.reject": "rejected"}
SALT = "servio.action-link"
MAX_TTL = timedelta(days=30)
MAX_TOKEN_LENGTH = 300

State = Literal["open", "used", "expired"]


class UnknownActionKind(DomainError):
    status = 422
    type = "unknown-action-kind"
    title = "No such kind of action link"
    description = "Kinds: booking.confirm, deposit.mark_paid, design.approve, design.reject."


class ActionLinkNotFound(NotFound):
    type = "action-link-not-found"
    title = "This link is not valid"


class ActionLinkGone(DomainError):
    status = 410
    type = "action-link-gone"
    title = "This link can no longer be used"
    description = "The link was used already (`reason: used`) or has expired (`reason: expired`)."


@dataclass(frozen=True)
class IssuedLink:
    id: uuid.UUID
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Decision:
    subject_id: uuid.UUID
    decision: str
    decided_at: datetime
    link_id: uuid.UUID


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def _link_id(token: str, secret: str) -> uuid.UUID | None:
    """The id a genuine token names; None for a tampered, truncated or foreign one."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = _serializer(secret).loads(token)
        return uuid.UUID(str(claims[0]))
    except (BadSignature, ValueError, TypeError, IndexError, KeyError):
        return None


async def issue(
    s: AsyncSession,
    org_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    ttl: timedelta,
    created_by: str,
    *,
    settings: Settings,
) -> IssuedLink:
    """A new link for ``kind`` on ``subject_id`` (a booking of the org for the booking
    kinds, a conversation of the org for the design kinds), good once until ``ttl``
    from now."""
    if kind not in KINDS:
        raise UnknownActionKind(f"{kind!r} is not a kind of action link.")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError("ttl must be positive and at most 30 days")
    if kind in BOOKING_KINDS:
        await bookings.get(s, org_id, subject_id)  # 404 when not this org's booking
    if kind in DESIGN_KINDS:
        await conversations.get(s, org_id, subject_id)  # 404 when not this org's
    link_id = uuid.uuid4()
    token = _serializer(settings.secret_key.get_secret_value()).dumps(
        [str(link_id), secrets.token_urlsafe(12)]
    )
    link = ActionLink(
        id=link_id,
        org_id=org_id,
        kind=kind,
        subject_id=subject_id,
        token_hash=digest(token),
        expires_at=utcnow() + ttl,
        created_by=created_by,
    )
    s.add(link)
    await s.flush()
    await record(
        s,
        org_id=org_id,
        actor=created_by,
        action="action_link.created",
        target=f"action_link:{link_id}",
        after={"kind": kind, "subject_id": str(subject_id)},
    )
    url = f"{settings.public_url.rstrip('/')}/a/{token}"
    return IssuedLink(id=link_id, url=url, expires_at=link.expires_at)


async def create_link(
    s: AsyncSession,
    org_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    ttl: timedelta,
    created_by: str,
    *,
    settings: Settings,
) -> str:
    """The URL of a new link (see ``issue``), to put in a message to staff."""
    issued = await issue(s, org_id, kind, subject_id, ttl, created_by, settings=settings)
    return issued.url


def state_of(link: ActionLink, now: datetime | None = None) -> State:
    if link.used_at is not None:
        return "used"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    return "open"


async def find(db: Database, token: str, *, secret: str) -> ActionLink:
    """The link a token opens, whatever its state; 404 for a bad or unknown token."""
    link_id = _link_id(token, secret)
    if link_id is not None:
        async with db.unit_of_work(system=True) as s:
            link = await s.get(ActionLink, link_id)
        if link is not None and same(link.token_hash, digest(token)):
            return link
    raise ActionLinkNotFound("The link is not valid; copy the whole link and try again.")


def _gone(state: State) -> ActionLinkGone:
    if state == "used":
        return ActionLinkGone("This link was already used.", extra={"reason": "used"})
    return ActionLinkGone("This link has expired.", extra={"reason": "expired"})


def ensure_open(link: ActionLink, now: datetime | None = None) -> None:
    """410 ``action-link-gone`` (reason ``used`` or ``expired``) unless the link is usable."""
    if (state := state_of(link, now)) != "open":
        raise _gone(state)


async def _claim(s: AsyncSession, link: ActionLink, ip: str | None, now: datetime) -> bool:
    """Mark the link used unless it is used or expired; true for the one caller that
    did. Concurrent claims serialize on the row: the later one sees ``used_at`` set."""
    claimed = await s.execute(
        update(ActionLink)
        .where(
            ActionLink.id == link.id,
            in_org(ActionLink, link.org_id),
            ActionLink.used_at.is_(None),
            ActionLink.expires_at > now,
        )
        .values(used_at=now, used_by_ip=ip)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(claimed, "rowcount", 0) or 0) == 1


async def _perform(
    s: AsyncSession, link: ActionLink, checkout: conversations.Checkout | None
) -> dict[str, Any]:
    org_id, subject, actor = link.org_id, link.subject_id, link.created_by
    if link.kind == "booking.confirm":
        booking = await bookings.apply(s, org_id, subject, "confirm", actor=actor)
        return {"ok": True, "booking_status": booking.status}
    if link.kind == "deposit.mark_paid":
        outcome = await bookings.deposit_marked_paid(s, org_id, subject, actor=actor)
        booking = await bookings.get(s, org_id, subject)
        return {
            "ok": outcome in ("confirmed", "rebooked"),
            "outcome": outcome,
            "booking_status": booking.status,
        }
    approved = link.kind == "design.approve"
    handled = await conversations.decide_design(
        s, org_id, subject, approved, checkout=checkout, key=f"design:{link.id}"
    )
    row = handled.conversation
    return {
        "ok": True,
        "decision": DECISIONS[link.kind],
        "stage": row.stage,
        "booking_id": str(row.booking_id) if row.booking_id else None,
    }


async def _finish(
    db: Database,
    link: ActionLink,
    ip: str | None,
    now: datetime,
    error: DomainError | None,
    checkout: conversations.Checkout | None = None,
) -> dict[str, Any]:
    """Claim the link and, unless ``error`` says the action was refused, act; keep the
    result on the link and in the audit log. Raises ``ActionLinkGone`` when claimed
    already."""
    async with db.unit_of_work(link.org_id) as s:
        if not await _claim(s, link, ip, now):
            current = await s.get(ActionLink, link.id, populate_existing=True)
            raise _gone(state_of(current, now) if current else "expired")
        if error is None:
            result = await _perform(s, link, checkout)
        else:
            result = {"ok": False, "error": error.type, "detail": error.detail}
        await s.execute(
            update(ActionLink)
            .where(ActionLink.id == link.id)
            .values(result=result)
            .execution_options(synchronize_session=False)
        )
        await record(
            s,
            org_id=link.org_id,
            actor=link.created_by,
            action="action_link.used",
            target=f"action_link:{link.id}",
            ip=ip,
            after={"kind": link.kind, "subject_id": str(link.subject_id), **result},
        )
    return result


async def use(
    db: Database,
    token: str,
    *,
    secret: str,
    ip: str | None,
    now: datetime | None = None,
    checkout: conversations.Checkout | None = None,
) -> tuple[ActionLink, dict[str, Any]]:
    """Do what the link says, once: the link and the result kept on it. 404 for a bad
    token, 410 when used or expired. When the domain refuses the action (the booking
    is no longer pending, say) nothing else changes, the link is used up all the same
    and the result says why (``ok`` false). ``checkout`` opens an approved design's
    deposit checkout."""
    link = await find(db, token, secret=secret)
    now = now or utcnow()
    ensure_open(link, now)
    try:
        return link, await _finish(db, link, ip, now, None, checkout)
    except ActionLinkGone:
        raise
    except DomainError as refused:
        return link, await _finish(db, link, ip, now, refused)


async def decisions(s: AsyncSession, org_id: uuid.UUID, subject_id: uuid.UUID) -> list[Decision]:
    """Staff's decisions on a design (``approved`` / ``rejected``), newest first; a link
    used after the design was decided is refused and decides nothing."""
    rows = await s.scalars(
        owned(ActionLink, org_id)
        .where(
            ActionLink.subject_id == subject_id,
            ActionLink.kind.in_(DECISIONS),
            ActionLink.used_at.is_not(None),
        )
        .order_by(ActionLink.used_at.desc())
    )
    return [
        Decision(
            subject_id=r.subject_id,
            decision=DECISIONS[r.kind],
            decided_at=r.used_at,
            link_id=r.id,
        )
        for r in rows
        if r.used_at is not None and (r.result or {}).get("ok", True)
    ]
