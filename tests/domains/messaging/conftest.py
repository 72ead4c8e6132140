"""A WhatsApp-enabled app against a local fake Graph API, and a studio that owns the
test phone number id."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servio.domains.identity import service as identity
from servio.domains.messaging.seed import PHONE_NUMBER_ID, TEMPLATES
from servio.platform.config import Settings
from servio.platform.db import Database
from tests.conftest import make_settings
from tests.support.app import app_client
from tests.support.fake_graph import TOKEN, FakeGraph, sign
from tests.support.live import serve
from tests.support.orgs import add_org

VERIFY_TOKEN = "verify-me"
APP_SECRET = "app-secret"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    with serve(fake.app) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


def wa_settings(db_url: str, var_dir: Path, graph: FakeGraph, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_access_token": TOKEN,
        "whatsapp_api_base": graph.url,  # type: ignore[attr-defined]
        "outbox_backoff_base_seconds": 0.001,
    }
    return make_settings(db_url, **(values | overrides))


@pytest.fixture
def settings(db_url: str, tmp_path: Path, graph: FakeGraph) -> Settings:
    return wa_settings(db_url, tmp_path / "var", graph)


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, raise_errors=False) as client:
        yield client


@pytest.fixture
async def studio(db: Database) -> uuid.UUID:
    async with db.unit_of_work(system=True) as s:
        org = await add_org(s, "inkwell-tattoo", vertical="tattoo")
        await identity.put_setting(s, org.id, "whatsapp.phone_number_id", PHONE_NUMBER_ID)
        await identity.put_setting(s, org.id, "whatsapp.templates", TEMPLATES)
        return org.id


def text_message(wamid: str, sender: str, ts: int, text: str) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": text},
    }


def envelope(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """One entry with one change, as Meta sends it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [entry(messages, statuses, phone_number_id)],
    }


def entry(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        senders = {m["from"] for m in messages}
        value["contacts"] = [{"profile": {"name": f"Client {s[-4:]}"}, "wa_id": s} for s in senders]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"id": "WABA-1", "changes": [{"value": value, "field": "messages"}]}


async def post_signed(
    api: httpx.AsyncClient, payload: Any, secret: str = APP_SECRET
) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await api.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)},
    )
