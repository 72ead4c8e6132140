"""Sign people up and in through the real API, and read what the mail sink received."""

from __future__ import annotations

import email
import re
import uuid
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import httpx

PASSWORD = "plum-orchard-skylight-42"


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


def mails(var_dir: Path) -> list[Message]:
    folder = var_dir / "mail"
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def link_token(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"token=([A-Za-z0-9_\-]+)", body.decode())
    assert found, body
    return found.group(1)
