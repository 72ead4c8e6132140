"""HTTP helpers shared by identity's routers: config, client, cookies, token bodies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Protocol, cast

from fastapi import Depends, Request, Response

from servio.domains.identity import service, sessions
from servio.domains.identity.authn import ACCESS_COOKIE
from servio.domains.identity.config import AuthConfig
from servio.domains.identity.models import Org, User
from servio.domains.identity.schemas import OrgRef, TokenOut, UserRef
from servio.platform.config import Settings
from servio.platform.db import Database
from servio.platform.http.auth import CSRF_COOKIE, database
from servio.platform.http.context import ClientInfo, Trail
from servio.platform.http.services import provided

REFRESH_COOKIE = "servio_refresh"


class IdentityServices(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def auth_config(self) -> AuthConfig: ...
    @property
    def catalog(self) -> service.PriceLists: ...


def auth_config(request: Request) -> AuthConfig:
    return cast(IdentityServices, provided(request)).auth_config


@dataclass(frozen=True)
class PublicOrgs:
    """The business a public request names with ``?org=``, or else the deployment's
    default one (``SERVIO_DEFAULT_ORG``); 404 for an unknown one."""

    db: Database
    default: str | None

    async def __call__(self, slug: str | None, *, default: bool = True) -> Org:
        return await service.resolve_public_org(self.db, slug, self.default if default else None)


def public_orgs(request: Request) -> PublicOrgs:
    services = cast(IdentityServices, provided(request))
    return PublicOrgs(services.db, services.settings.default_org)


def price_lists(request: Request) -> service.PriceLists:
    """The price lists org settings are checked against (the catalog)."""
    return cast(IdentityServices, provided(request)).catalog


Config = Annotated[AuthConfig, Depends(auth_config)]
Db = Annotated[Database, Depends(database)]
PublicOrg = Annotated[PublicOrgs, Depends(public_orgs)]
PriceLists = Annotated[service.PriceLists, Depends(price_lists)]


def set_session_cookies(response: Response, config: AuthConfig, pair: sessions.TokenPair) -> None:
    """The browser's copy of the session: HttpOnly tokens plus a readable CSRF value."""
    common = {"secure": config.secure_cookies, "samesite": "lax"}
    response.set_cookie(
        ACCESS_COOKIE,
        pair.access_token,
        max_age=int(config.access_ttl.total_seconds()),
        httponly=True,
        path="/",
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=int(config.refresh_ttl.total_seconds()),
        httponly=True,
        path="/v1/auth",
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        httponly=False,
        path="/",
        **common,  # type: ignore[arg-type]
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/v1/auth")
    response.delete_cookie(CSRF_COOKIE, path="/")


def token_out(
    response: Response,
    config: AuthConfig,
    pair: sessions.TokenPair,
    user: User | None = None,
    org: Org | None = None,
) -> TokenOut:
    set_session_cookies(response, config, pair)
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=UserRef(id=user.id, email=user.email) if user else None,
        org=OrgRef(id=org.id, slug=org.slug, name=org.name) if org else None,
    )


__all__ = [
    "ClientInfo",
    "Config",
    "Db",
    "PublicOrg",
    "PublicOrgs",
    "Trail",
    "auth_config",
    "clear_session_cookies",
    "set_session_cookies",
    "token_out",
]
