"""Signing customers in by emailed link.

A link carries a token signed with ``SERVIO_CLIENT_PORTAL_SECRET`` (itsdangerous) that
names the org, the sign-in row and a random nonce; only the nonce's SHA-256 is stored.
The link works once, within ``SERVIO_CLIENT_PORTAL_TOKEN_TTL_MINUTES``, and is traded
for a session token (signed under another salt, so neither passes for the other) that
lasts ``SERVIO_CLIENT_PORTAL_SESSION_HOURS`` or until the customer signs out.

Asking for a link answers the same whether or not the address is known in the
business: only a customer with a booking or an enquiry there is sent one.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from servio.domains.bookings import service as bookings
from servio.domains.identity import service as identity
from servio.domains.intake import service as intake
from servio.domains.portal.config import PortalConfig
from servio.domains.portal.models import ClientSignIn
from servio.platform.db import Database, utcnow
from servio.platform.db.scoped import in_org, owned
from servio.platform.email import send_email
from servio.platform.errors import DomainError
from servio.platform.security.opaque import digest

LINK_SALT = "servio.client-portal.link"
SESSION_SALT = "servio.client-portal.session"
MAX_TOKEN_LENGTH = 400
EMAIL_TEMPLATES = Path(__file__).parent / "templates"
"""The portal's email templates (``portal/sign_in_link``)."""


class InvalidSignInLink(DomainError):
    status = 400
    type = "invalid-sign-in-link"
    title = "This sign-in link is not valid"
    description = "The link was altered or cut short; copy the whole link or ask for a new one."


class SignInLinkGone(DomainError):
    status = 410
    type = "sign-in-link-gone"
    title = "This sign-in link can no longer be used"
    description = "Links work once and expire (`reason`: `expired` or `used`); ask for a new one."


class ClientNotSignedIn(DomainError):
    status = 401
    type = "client-not-signed-in"
    title = "Sign in to the client portal"
    description = (
        "Send the client_session cookie or `Authorization: Bearer <session token>`; "
        "ask for a sign-in link at /client/login/request."
    )


class ClientSessionRequired(DomainError):
    status = 403
    type = "client-session-required"
    title = "These credentials are not a client portal session"
    description = (
        "Staff tokens and API keys do not open the client portal; sign in as the customer "
        "by emailed link."
    )


@dataclass(frozen=True)
class ClientSession:
    """A signed-in customer: their address in one business."""

    org_id: uuid.UUID
    email: str
    sign_in_id: uuid.UUID
    expires_at: datetime

    @property
    def actor(self) -> str:
        return f"customer:{self.email}"


@dataclass(frozen=True)
class StartedSession:
    token: str
    session: ClientSession


def _signer(config: PortalConfig, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret, salt=salt)


def _claims(config: PortalConfig, salt: str, token: str, max_age: int) -> dict[str, Any]:
    """The signed claims of ``token``, or ``InvalidSignInLink`` / ``SignInLinkGone``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSignInLink("This link is not complete.")
    try:
        claims = _signer(config, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise SignInLinkGone("This link has expired.", extra={"reason": "expired"}) from exc
    except BadSignature as exc:
        raise InvalidSignInLink("This link is not valid.") from exc
    if not isinstance(claims, dict) or not {"o", "i"} <= claims.keys():
        raise InvalidSignInLink("This link is not valid.")
    return claims


async def _known_customer(s: AsyncSession, org_id: uuid.UUID, email: str) -> bool:
    """A customer is known when the business has a booking or an enquiry from them."""
    booked = await s.scalar(
        bookings.readable(org_id).where(bookings.Booking.email == email).limit(1)
    )
    if booked is not None:
        return True
    asked = await s.scalar(intake.readable(org_id).where(intake.Lead.email == email).limit(1))
    return asked is not None


def normalize_email(email: str) -> str:
    """The address as bookings store it; ``InvalidContact`` (422) when it is not one."""
    return intake.normalize_contact("customer", email[:320], None, None).email


async def request_link(
    db: Database, config: PortalConfig, *, org_slug: str, email: str, ip: str | None
) -> None:
    """Email a sign-in link when the business knows the address; silent otherwise, so
    the answer never tells who is a customer."""
    email = normalize_email(email)
    async with db.unit_of_work(system=True) as s:
        try:
            org = await identity.get_org_by_slug(s, org_slug)
        except DomainError:
            return
    async with db.unit_of_work(org.id) as s:
        if not await _known_customer(s, org.id, email):
            return
        nonce = secrets.token_urlsafe(24)
        row = ClientSignIn(
            org_id=org.id,
            email=email,
            nonce_hash=digest(nonce),
            expires_at=utcnow() + config.link_ttl,
            requested_ip=(ip or "")[:45] or None,
        )
        s.add(row)
        await s.flush()
        token = _signer(config, LINK_SALT).dumps({"o": str(org.id), "i": str(row.id), "n": nonce})
        await send_email(
            s,
            to=email,
            template="portal/sign_in_link",
            context={
                "business": org.name,
                "link": f"{config.public_url}/client/login/callback?token={token}",
                "valid_minutes": int(config.link_ttl.total_seconds() // 60),
            },
            dedupe_key=f"portal.sign_in_link:{row.id}",
            org_id=org.id,
        )


async def _open_link(
    s: AsyncSession, config: PortalConfig, token: str, now: datetime
) -> ClientSignIn:
    """The unused, unexpired sign-in row ``token`` names, else the reason it is refused."""
    claims = _claims(config, LINK_SALT, token, int(config.link_ttl.total_seconds()))
    try:
        org_id, row_id = uuid.UUID(str(claims["o"])), uuid.UUID(str(claims["i"]))
    except ValueError as exc:
        raise InvalidSignInLink("This link is not valid.") from exc
    row = await s.scalar(owned(ClientSignIn, org_id).where(ClientSignIn.id == row_id))
    if row is None or row.nonce_hash != digest(str(claims.get("n", ""))):
        raise InvalidSignInLink("This link is not valid.")
    if row.expires_at <= now:
        raise SignInLinkGone("This link has expired.", extra={"reason": "expired"})
    if row.used_at is not None:
        raise SignInLinkGone("This link was already used.", extra={"reason": "used"})
    return row


def link_org(config: PortalConfig, token: str) -> uuid.UUID:
    """The business a well-signed link belongs to (its row is checked by the callers)."""
    claims = _claims(config, LINK_SALT, token, int(config.link_ttl.total_seconds()))
    try:
        return uuid.UUID(str(claims["o"]))
    except ValueError as exc:
        raise InvalidSignInLink("This link is not valid.") from exc


async def check_link(db: Database, config: PortalConfig, token: str) -> uuid.UUID:
    """Whether ``token`` would sign in, without using it (a mail scanner opening the
    link must not spend it): the org it belongs to, else why it is refused."""
    org_id = link_org(config, token)
    async with db.unit_of_work(org_id) as s:
        await _open_link(s, config, token, utcnow())
    return org_id


async def sign_in(db: Database, config: PortalConfig, token: str) -> StartedSession:
    """Trade a sign-in link for a session, once: of two uses of one link, one wins."""
    org_id = link_org(config, token)
    now = utcnow()
    async with db.unit_of_work(org_id) as s:
        row = await _open_link(s, config, token, now)
        claimed = await s.execute(
            update(ClientSignIn)
            .where(ClientSignIn.id == row.id, ClientSignIn.used_at.is_(None))
            .values(used_at=now, session_expires_at=now + config.session_ttl),
            execution_options={"synchronize_session": False},
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise SignInLinkGone("This link was already used.", extra={"reason": "used"})
        session = ClientSession(org_id, row.email, row.id, now + config.session_ttl)
    signed = _signer(config, SESSION_SALT).dumps({"o": str(org_id), "i": str(row.id)})
    return StartedSession(token=signed, session=session)


def is_session_token(config: PortalConfig, token: str) -> bool:
    """Whether ``token`` was issued as a client session (expired or not)."""
    try:
        _signer(config, SESSION_SALT).loads(token[:MAX_TOKEN_LENGTH])
    except SignatureExpired:
        return True
    except BadSignature:
        return False
    return True


async def session_of(db: Database, config: PortalConfig, token: str | None) -> ClientSession:
    """The customer a session token belongs to; 401 when it is missing, altered,
    expired or signed out."""
    if not token:
        raise ClientNotSignedIn("Sign in first.")
    try:
        claims = _claims(config, SESSION_SALT, token, int(config.session_ttl.total_seconds()))
        org_id, row_id = uuid.UUID(str(claims["o"])), uuid.UUID(str(claims["i"]))
    except (DomainError, ValueError) as exc:
        raise ClientNotSignedIn("The session is not valid or has expired.") from exc
    async with db.unit_of_work(org_id) as s:
        row = await s.scalar(owned(ClientSignIn, org_id).where(ClientSignIn.id == row_id))
    now = utcnow()
    if (
        row is None
        or row.used_at is None
        or row.ended_at is not None
        or row.session_expires_at is None
        or row.session_expires_at <= now
    ):
        raise ClientNotSignedIn("The session has ended; sign in again.")
    return ClientSession(org_id, row.email, row.id, row.session_expires_at)


async def sign_out(db: Database, session: ClientSession) -> None:
    """End the session: its token stops working at once."""
    async with db.unit_of_work(session.org_id) as s:
        await s.execute(
            update(ClientSignIn)
            .where(in_org(ClientSignIn, session.org_id), ClientSignIn.id == session.sign_in_id)
            .values(ended_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
