"""The client portal's parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.portal import models
from servio.domains.portal.signin import EMAIL_TEMPLATES
from servio.platform.manifest import Core, Manifest


def routers() -> Sequence[APIRouter]:
    from servio.domains.portal import router

    return (router.router,)


MANIFEST: Manifest[Core] = Manifest(
    name="portal", models=models, routers=routers, email_templates=EMAIL_TEMPLATES
)
