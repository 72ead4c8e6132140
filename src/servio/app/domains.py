"""Every domain of the product, in the order their parts are wired (seeders run in this
order, so a domain comes after those whose demo data it builds on). Adding a domain is
its package with a ``manifest`` module, plus one line here."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

from servio.platform.manifest import Manifest

DOMAINS = (
    "identity",
    "catalog",
    "scheduling",
    "intake",
    "bookings",
    "payments",
    "messaging",
    "conversations",
    "actions",
    "portal",
    "webhooks",
)


def load(name: str, *, module: str | None = None) -> Manifest[Any]:
    """``servio.domains.<name>.manifest.MANIFEST``, checked."""
    module = module or f"servio.domains.{name}.manifest"
    manifest = getattr(import_module(module), "MANIFEST", None)
    if not isinstance(manifest, Manifest) or manifest.name != name:
        raise TypeError(f"{module} must define a Manifest named {name!r} as MANIFEST")
    return manifest


@cache
def manifests(names: tuple[str, ...] = DOMAINS) -> tuple[Manifest[Any], ...]:
    """The manifests of ``names`` (by default every domain), in order."""
    return tuple(load(name) for name in names)
