"""Request context every router may ask for: who is calling from where, and the
request's way into the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from servio.platform.audit import record
from servio.platform.http.auth import CurrentPrincipal, OrgSession
from servio.platform.security.principal import Principal


@dataclass(frozen=True)
class Client:
    ip: str | None
    user_agent: str | None


def client_of(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ClientInfo = Annotated[Client, Depends(client_of)]


@dataclass(frozen=True)
class AuditTrail:
    """Appends what the principal did to the audit log, in the request's unit of work."""

    s: AsyncSession
    principal: Principal
    ip: str | None

    async def __call__(
        self, action: str, target: str, *, before: Any = None, after: Any = None
    ) -> None:
        await record(
            self.s,
            org_id=self.principal.org_id,
            actor=self.principal.actor,
            action=action,
            target=target,
            ip=self.ip,
            before=before,
            after=after,
        )


def audit_trail(s: OrgSession, principal: CurrentPrincipal, client: ClientInfo) -> AuditTrail:
    return AuditTrail(s=s, principal=principal, ip=client.ip)


Trail = Annotated[AuditTrail, Depends(audit_trail)]
