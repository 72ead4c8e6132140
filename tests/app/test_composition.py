"""The composition root: every domain's parts come from its manifest, a new domain is a
package plus one line, the container gives every domain what it reads, and the worker
never loads the web layer."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import servio.domains
from servio.app import domains as root
from servio.app.container import Container
from servio.app.seeding import seed_demo
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.manifest import Manifest
from tests.support.app import app_client

TOY = '''
"""A domain made for this test: one route, one outbox kind, one job, one seeder."""

from fastapi import APIRouter

from servio.platform.jobs import Job
from servio.platform.manifest import Core, Manifest

router = APIRouter()
SEEDED: list[str] = []


@router.get("/v1/toy")
async def toy() -> dict[str, str]:
    return {"toy": "here"}


async def tick(_db: object) -> int:
    return 0


async def handle(_delivery: object) -> None:
    return None


async def seed(_session: object, _settings: object) -> str:
    SEEDED.append("toy")
    return "toy seeded"


def register(_needs: Core, registry: object) -> None:
    registry.register("toy.happened", handle)  # type: ignore[attr-defined]


MANIFEST: Manifest[Core] = Manifest(
    name="toy",
    routers=lambda: (router,),
    handlers=register,
    jobs=lambda _needs: [Job("toy.tick", "* * * * *", tick)],
    seeders=(("demo toy", seed),),
)
'''


@pytest.fixture
def toy_domain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Manifest[Any], ...]]:
    """A new package under ``servio.domains`` (found through the package's path) and
    one more name in the root's list: nothing else changes."""
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "__init__.py").write_text('"""Toy."""\n')
    (tmp_path / "toy" / "manifest.py").write_text(textwrap.dedent(TOY))
    monkeypatch.setattr(servio.domains, "__path__", [*servio.domains.__path__, str(tmp_path)])
    monkeypatch.setattr(root, "DOMAINS", (*root.DOMAINS, "toy"))
    yield root.manifests(root.DOMAINS)
    for name in [m for m in sys.modules if m.startswith("servio.domains.toy")]:
        del sys.modules[name]


async def test_a_new_domain_is_a_package_plus_one_line(
    settings: Settings, db: Database, toy_domain: tuple[Manifest[Any], ...]
) -> None:
    container = Container.from_settings(settings, domains=toy_domain)
    assert "toy.happened" in container.outbox.routes
    assert "toy.tick" in container.jobs.jobs
    async with app_client(settings, container=container) as api:
        r = await api.get("/v1/toy")
        assert r.status_code == 200
        assert r.json() == {"toy": "here"}
        assert "/v1/toy" in (await api.get("/openapi.json")).json()["paths"]
    results = await seed_demo(settings, show_progress=False, domains=toy_domain)
    assert results["demo toy"] == "toy seeded"
    assert list(results)[-1] == "demo toy"  # after the domains it builds on


def test_every_domain_has_a_manifest_named_after_it() -> None:
    loaded = root.manifests(root.DOMAINS)
    assert [m.name for m in loaded] == list(root.DOMAINS)
    package = Path(servio.domains.__file__).parent
    on_disk = {p.parent.name for p in package.glob("*/manifest.py")}
    assert on_disk == set(root.DOMAINS), "a domain package is missing from the root's list"


def test_a_manifest_of_another_name_is_refused(toy_domain: tuple[Manifest[Any], ...]) -> None:
    with pytest.raises(TypeError, match="named 'identity'"):
        root.load("identity", module="servio.domains.toy.manifest")


def _protocols() -> list[type]:
    """Every protocol through which a domain or the platform reads the container."""
    import servio.platform.http.auth as auth
    import servio.platform.http.services as services
    import servio.platform.manifest as manifest

    modules = [auth, services, manifest]
    for name in root.DOMAINS:
        for part in ("manifest", "deps"):
            try:
                modules.append(__import__(f"servio.domains.{name}.{part}", fromlist=["_"]))
            except ModuleNotFoundError:
                continue
    found = []
    for module in modules:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if getattr(value, "_is_protocol", False) and value.__module__ == module.__name__:
                found.append(value)
    return found


def _members(protocol: type) -> set[str]:
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass.__module__ in ("typing", "builtins", "typing_extensions"):
            continue
        names |= {n for n in vars(klass) if not n.startswith("_")}
    return names


def test_the_container_gives_every_domain_what_it_reads(settings: Settings) -> None:
    container = Container.from_settings(settings)
    protocols = _protocols()
    assert len(protocols) >= 10
    for protocol in protocols:
        if protocol.__name__ == "Authenticator":
            continue  # what the container's authenticator is, not what it holds
        missing = {n for n in _members(protocol) if not hasattr(container, n)}
        assert not missing, f"{protocol.__module__}.{protocol.__name__}: {missing}"


def test_the_worker_runs_without_loading_the_web_layer(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SERVIO_ENV": "test",
        "SERVIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/w.db",
        "SERVIO_VAR_DIR": str(tmp_path),
    }
    cli = [sys.executable, "-X", "importtime", "-m", "servio.cli"]
    migrated = subprocess.run(
        [sys.executable, "-m", "servio.cli", "migrate"], env=env, capture_output=True, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    ran = subprocess.run(
        [*cli, "worker", "--once"], env=env, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in ran.stderr.splitlines() if "|" in line}
    assert "servio.app.container" in imported  # the check can see what it looks for
    assert "servio.domains.bookings.jobs" in imported
    assert not {m for m in imported if m.startswith("servio.web")}
    assert "servio.domains.bookings.router" not in imported  # routers are built lazily


async def test_routes_reach_the_container_through_request_state(
    api: httpx.AsyncClient,
) -> None:
    """The app puts its container in every request's state; a route reading a typed
    dependency (the public org, the price lists) works without ``app.state``."""
    r = await api.post("/v1/estimate?org=nobody-here", json={"beds": 1, "baths": 1})
    assert r.status_code == 404
    assert r.json()["type"].endswith("/org-not-found")
