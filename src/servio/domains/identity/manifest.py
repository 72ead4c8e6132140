"""Identity's parts for the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from servio.domains.identity import models
from servio.domains.identity.links import EMAIL_TEMPLATES
from servio.domains.identity.seed import seed_demo_logins, seed_demo_orgs
from servio.platform.manifest import Core, Manifest


def routers() -> Sequence[APIRouter]:
    from servio.domains.identity import (
        router_admin,
        router_auth,
        router_mfa,
        router_settings,
        router_team,
    )

    return (
        router_auth.router,
        router_mfa.router,
        router_team.router,
        router_admin.router,
        router_settings.router,
    )


MANIFEST: Manifest[Core] = Manifest(
    name="identity",
    models=models,
    routers=routers,
    email_templates=EMAIL_TEMPLATES,
    seeders=(("demo businesses", seed_demo_orgs), ("demo logins", seed_demo_logins)),
)
