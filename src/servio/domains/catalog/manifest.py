"""The catalog's parts for the composition root: price lists live in files, so it has
no tables."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.platform.manifest import Core, Manifest


def routers() -> Sequence[APIRouter]:
    from servio.domains.catalog import router

    return (router.router,)


MANIFEST: Manifest[Core] = Manifest(name="catalog", routers=routers)
