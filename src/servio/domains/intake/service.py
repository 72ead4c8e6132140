"""Leads: taken from the public form with the server's own estimate, moved through
NEW → CONTACTED → QUOTED → BOOKED | LOST by staff, credited for referrals once."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.intake.models import Lead as Lead  # re-exported for other domains
from servio.domains.intake.models import LeadStatus as LeadStatus
from servio.platform import outbox, pagination
from servio.platform.db import utcnow
from servio.platform.db.scoped import get_owned, in_org, owned
from servio.platform.errors import Conflict, DomainError, NotFound

TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    LeadStatus.NEW: frozenset(
        {LeadStatus.CONTACTED, LeadStatus.QUOTED, LeadStatus.BOOKED, LeadStatus.LOST}
    ),
    LeadStatus.CONTACTED: frozenset({LeadStatus.QUOTED, LeadStatus.BOOKED, LeadStatus.LOST}),
    LeadStatus.QUOTED: frozenset({LeadStatus.BOOKED, LeadStatus.LOST}),
    LeadStatus.LOST: frozenset({LeadStatus.CONTACTED}),
    LeadStatus.BOOKED: frozenset(),
}
REGION_BY_CURRENCY = {"CAD": "CA", "USD": "US", "GBP": "GB", "AUD": "AU", "NZD": "NZ"}
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERRAL_CREDITED = "referral.credited"
EMAIL_TEMPLATES = Path(__file__).parent / "templates"


class InvalidContact(DomainError):
    status = 422
    type = "invalid-contact"
    title = "The contact details are not valid"


class UnknownReferralCode(DomainError):
    status = 422
    type = "unknown-referral-code"
    title = "No customer has that referral code"


class LeadNotFound(NotFound):
    type = "lead-not-found"
    title = "No such lead"


class IllegalTransition(Conflict):
    type = "illegal-transition"
    title = "The lead cannot move to that status"
    description = (
        "Leads move NEW → CONTACTED → QUOTED → BOOKED, or to LOST (reopened as CONTACTED)."
    )


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None


def normalize_contact(
    name: str, email: str | None, phone: str | None, region: str | None
) -> Contact:
    """The contact cleaned up; ``email`` None (a contact reached on a messaging
    channel) is kept empty."""
    clean_email = ""
    try:
        if email is not None:
            valid = validate_email(email.strip(), check_deliverability=False)
            clean_email = valid.normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc), extra={"field": "email"}) from exc
    e164 = None
    if phone and phone.strip():
        try:
            parsed = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidContact(f"Phone number: {exc}.", extra={"field": "phone"}) from exc
        if not phonenumbers.is_valid_number(parsed):
            raise InvalidContact("That phone number does not exist.", extra={"field": "phone"})
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Contact(name=" ".join(name.split()), email=clean_email, phone=e164)


async def _free_code(s: AsyncSession, org_id: uuid.UUID) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        taken = await s.scalar(
            select(Lead.id).where(in_org(Lead, org_id), Lead.referral_code == code)
        )
        if taken is None:
            return code


async def referrer(s: AsyncSession, org_id: uuid.UUID, code: str | None) -> Lead | None:
    if not code:
        return None
    found = await s.scalar(owned(Lead, org_id).where(Lead.referral_code == code.strip().upper()))
    if found is None:
        raise UnknownReferralCode(
            f"No customer has the referral code {code!r}.", extra={"field": "referred_by"}
        )
    return found


async def create_lead(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    contact: Contact,
    currency: str,
    fields: dict[str, Any],
    estimate: dict[str, Any] | None,
    referred_by: str | None,
) -> Lead:
    """Store a lead with the server's estimate; the referral code is validated first so
    a bad one leaves nothing written."""
    ref = await referrer(s, org_id, referred_by)
    lead = Lead(
        org_id=org_id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        currency=currency,
        estimate=estimate,
        estimate_total_cents=estimate.get("total_cents") if estimate else None,
        referral_code=await _free_code(s, org_id),
        referred_by=ref.id if ref else None,
        **fields,
    )
    s.add(lead)
    await s.flush()
    return lead


def readable(org_id: uuid.UUID) -> Select[Lead]:
    """Every lead query starts here: scoped to one org."""
    return owned(Lead, org_id)


async def get_lead(s: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> Lead:
    missing = LeadNotFound("No such lead in this business.")
    return await get_owned(s, Lead, lead_id, org_id, missing=missing)


async def move(
    s: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, status: str
) -> tuple[Lead, str]:
    """Change a lead's status along the allowed transitions; returns (lead, old status)."""
    missing = LeadNotFound("No such lead in this business.")
    lead = await get_owned(s, Lead, lead_id, org_id, missing=missing, lock=True)
    old = lead.status
    allowed = TRANSITIONS[LeadStatus(old)]
    if status not in allowed:
        raise IllegalTransition(
            f"A {old} lead cannot become {status}.",
            extra={"from": old, "to": status, "allowed": sorted(allowed)},
        )
    lead.status, lead.version, lead.updated_at = status, lead.version + 1, utcnow()
    await s.flush()
    return lead, old


async def grant_referral_credit(
    s: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID
) -> Lead | None:
    """On a referred customer's first confirmed booking: the referrer earns credit once,
    and ``referral.credited`` is queued (once per referred lead) to tell them. Returns
    the referrer when credit was granted now, None when not due or already done."""
    lead = await s.scalar(readable(org_id).where(Lead.id == lead_id).with_for_update())
    if lead is None or lead.referred_by is None or lead.referral_credit_granted_at is not None:
        return None
    lead.referral_credit_granted_at = utcnow()
    referrer = await s.scalar(readable(org_id).where(Lead.id == lead.referred_by))
    if referrer is not None:
        await outbox.add(
            s,
            kind=REFERRAL_CREDITED,
            payload={"referrer_id": str(referrer.id), "referred_id": str(lead.id)},
            dedupe_key=f"{REFERRAL_CREDITED}:{lead.id}",
            org_id=org_id,
        )
    return referrer


def postal_address(lead: Lead) -> str | None:
    """The lead's address on one line ("1 Main St, Unit 2, Edmonton AB T5J 0N3, CA"),
    None when it gave none."""
    a = lead.address or {}
    if not a.get("line1"):
        return None
    locality = " ".join(str(a[k]) for k in ("city", "region", "postal_code") if a.get(k))
    parts = [a.get("line1"), a.get("line2"), locality, a.get("country")]
    return ", ".join(str(p) for p in parts if p)


def search(stmt: Select[Lead], q: str | None, status: str | None) -> Select[Lead]:
    if status:
        stmt = stmt.where(Lead.status == status)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(Lead.email.like(like), Lead.name.ilike(like), Lead.phone.like(like)))
    return stmt


def narrowed(
    stmt: Select[Lead],
    source: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> Select[Lead]:
    """Leads from one source, created in ``[created_from, created_before)``."""
    if source:
        stmt = stmt.where(Lead.source == source)
    if created_from is not None:
        stmt = stmt.where(Lead.created_at >= created_from)
    if created_before is not None:
        stmt = stmt.where(Lead.created_at < created_before)
    return stmt


async def sources(s: AsyncSession, org_id: uuid.UUID) -> list[str]:
    """The sources the org's leads came from, for a filter's choices."""
    rows = await s.scalars(
        select(Lead.source)
        .where(in_org(Lead, org_id), Lead.source.is_not(None))
        .distinct()
        .order_by(Lead.source)
    )
    return [str(r) for r in rows]


NEWEST_FIRST = pagination.ByTimeAndId(Lead.created_at, Lead.id)


def after(stmt: Select[Lead], cursor: str | None) -> Select[Lead]:
    """Newest first, continuing after ``cursor`` (400 ``invalid-cursor`` when not ours)."""
    return pagination.continued(stmt, NEWEST_FIRST, cursor or None)


async def lead_page(
    s: AsyncSession, stmt: Select[Lead], cursor: str | None, limit: int
) -> pagination.Page[Lead]:
    """Newest first, continuing after ``cursor`` (400 ``invalid-cursor`` when not ours)."""
    return await pagination.keyset_page(s, stmt, NEWEST_FIRST, cursor=cursor or None, limit=limit)


async def count_created(s: AsyncSession, org_id: uuid.UUID, start: datetime, end: datetime) -> int:
    """Leads of the org created in [start, end)."""
    found = await s.scalar(
        select(func.count())
        .select_from(Lead)
        .where(in_org(Lead, org_id), Lead.created_at >= start, Lead.created_at < end)
    )
    return int(found or 0)


async def status_counts(s: AsyncSession, org_id: uuid.UUID, since: datetime) -> dict[str, int]:
    """How many of the org's leads created since ``since`` stand in each status; every
    status a lead can take is listed, with 0 when none does."""
    rows = await s.execute(
        select(Lead.status, func.count())
        .where(in_org(Lead, org_id), Lead.created_at >= since)
        .group_by(Lead.status)
    )
    counts: dict[str, int] = dict.fromkeys(TRANSITIONS, 0)
    for status, n in rows:
        counts[status] = int(n)
    return counts


LEAD_PATH = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUOTED, LeadStatus.BOOKED)


def funnel_steps(counts: dict[str, int], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """Step conversion along ``path`` from current statuses: a lead reached a step when
    it stands there or further along the path; everyone reached the first step (a lead
    that left the path, LOST say, counts only there). Conversion in basis points."""
    total = sum(counts.values())
    reached = [
        total if i == 0 else sum(counts.get(status, 0) for status in path[i:])
        for i in range(len(path))
    ]
    return [
        {
            "from": path[i],
            "to": path[i + 1],
            "reached_from": reached[i],
            "reached_to": reached[i + 1],
            "conversion_bps": reached[i + 1] * 10_000 // reached[i] if reached[i] else None,
        }
        for i in range(len(path) - 1)
    ]


async def prune_leads(
    s: AsyncSession,
    org_id: uuid.UUID,
    *,
    lost_before: datetime,
    also: frozenset[uuid.UUID] = frozenset(),
) -> int:
    """Delete the org's LOST leads untouched since ``lost_before``, plus the leads in
    ``also`` (say, of abandoned conversations) unless they were BOOKED."""
    stale = (Lead.status == LeadStatus.LOST) & (Lead.updated_at < lost_before)
    chosen = or_(stale, Lead.id.in_(also) & (Lead.status != LeadStatus.BOOKED)) if also else stale
    result = await s.execute(delete(Lead).where(in_org(Lead, org_id), chosen))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
