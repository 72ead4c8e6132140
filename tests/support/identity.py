"""Sign people up and in through the real API, invite them, and read what the mail sink
received; plus the API-key, TOTP and break-glass steps several identity tests share."""

from __future__ import annotations

import email
import re
import uuid
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pyotp
from sqlalchemy import select

from servio.domains.identity.models import ApiKey, Membership
from servio.platform.db import Database, utcnow
from tests.support.app import deliver_outbox
from tests.support.problems import assert_problem

PASSWORD = "plum-orchard-skylight-42"
BREAK_GLASS_REASON = "Fix a wrong booking during the freeze"


@dataclass
class Account:
    email: str
    password: str
    user_id: uuid.UUID
    org_id: uuid.UUID
    org_slug: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def _account(body: dict[str, object], email_: str, password: str) -> Account:
    user, org = body["user"], body["org"]
    assert isinstance(user, dict)
    assert isinstance(org, dict)
    return Account(
        email=email_,
        password=password,
        user_id=uuid.UUID(str(user["id"])),
        org_id=uuid.UUID(str(org["id"])),
        org_slug=str(org["slug"]),
        access=str(body["access_token"]),
        refresh=str(body["refresh_token"]),
    )


async def register(
    api: httpx.AsyncClient, email_: str, org_name: str, password: str = PASSWORD
) -> Account:
    r = await api.post(
        "/v1/auth/register", json={"email": email_, "password": password, "org_name": org_name}
    )
    assert r.status_code == 201, r.text
    api.cookies.clear()
    return _account(r.json(), email_, password)


async def login(
    api: httpx.AsyncClient, email_: str, password: str = PASSWORD, org: str | None = None
) -> Account:
    payload = {"email": email_, "password": password} | ({"org": org} if org else {})
    r = await api.post("/v1/auth/login", json=payload)
    assert r.status_code == 200, r.text
    api.cookies.clear()
    return _account(r.json(), email_, password)


async def invite(
    api: httpx.AsyncClient, by: Account, var_dir: Path, email_: str, role: str
) -> Account:
    """Invite ``email_`` as ``role`` through the API, then accept the emailed link."""
    r = await api.post("/v1/iam/users", json={"email": email_, "role": role}, headers=by.auth)
    assert r.status_code == 202, r.text
    await deliver_outbox(api)
    token = link_token([m for m in mails(var_dir) if m["To"] == email_][-1])
    r = await api.post("/v1/auth/invites/accept", json={"token": token, "password": PASSWORD})
    api.cookies.clear()
    assert r.status_code == 200, r.text
    return _account(r.json(), email_, PASSWORD)


def problem(r: httpx.Response, status: int, name: str) -> dict[str, Any]:
    """Assert a complete Problem+JSON answer of ``status`` and type ``name``."""
    return assert_problem(r, status, name)


async def membership(db: Database, who: Account, org_id: uuid.UUID) -> Membership | None:
    async with db.unit_of_work(system=True) as s:
        return await s.scalar(
            select(Membership).where(Membership.user_id == who.user_id, Membership.org_id == org_id)
        )


def mails(var_dir: Path) -> list[Message]:
    folder = var_dir / "mail"
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def text_part(message: Message) -> str:
    """The text/plain body of a message, single-part or multipart/alternative."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            body = part.get_payload(decode=True)
            assert isinstance(body, bytes)
            return body.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/plain part in {message['Subject']!r}")


def link_token(message: Message) -> str:
    found = re.search(r"token=([A-Za-z0-9_\-]+)", text_part(message))
    assert found, text_part(message)
    return found.group(1)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def admin_key(key: str) -> dict[str, str]:
    return {"X-Admin-API-Key": key}


async def new_key(api: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    r = await api.post("/v1/api-keys", json={"name": "Zapier"} | body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def key_row(db: Database, key_id: str) -> ApiKey:
    async with db.unit_of_work(system=True) as s:
        row = await s.get(ApiKey, uuid.UUID(key_id))
    assert row is not None
    return row


def totp_code(secret: str, steps: int = 0) -> str:
    """The TOTP code ``steps`` time steps from now (the server accepts -1, 0, +1)."""
    return pyotp.TOTP(secret).at(utcnow().timestamp() + 30 * steps)


def wrong_code(secret: str) -> str:
    valid = {totp_code(secret, s) for s in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


async def enable_mfa(api: httpx.AsyncClient, who: Account) -> tuple[str, list[str]]:
    r = await api.post("/v1/auth/2fa/enroll", headers=who.auth)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = await api.post(
        "/v1/auth/2fa/confirm", json={"code": totp_code(secret, -1)}, headers=who.auth
    )
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


async def set_read_only(api: httpx.AsyncClient, owner: Account, on: bool) -> None:
    r = await api.patch("/v1/admin/org/safety", json={"read_only": on}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"read_only": on, "require_mfa": False}


async def break_glass(api: httpx.AsyncClient, headers: dict[str, str], ttl: int = 30) -> dict:
    r = await api.post(
        "/v1/admin/break-glass/start",
        json={"reason": BREAK_GLASS_REASON, "ttl_minutes": ttl},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
