"""Maintenance mode, as pure ASGI middleware: while it is on, every request answers 503
``maintenance`` with ``Retry-After``, except probes and metrics (orchestrators must still
see a live process), platform operators (who do the maintenance), and inbound webhooks,
which pass so providers' events are still recorded; their handlers defer the work."""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from servio.platform.errors import register_problem
from servio.platform.http.middleware import header, send_problem
from servio.platform.http.paths import is_inbound_webhook, is_probe

# Says whether a request carries a platform-operator credential (may be async).
OperatorCheck = Callable[[Scope], bool | Awaitable[bool]]

MAINTENANCE = "maintenance"
MAINTENANCE_TITLE = "Down for maintenance"
register_problem(
    MAINTENANCE,
    503,
    MAINTENANCE_TITLE,
    "The service is down for planned maintenance; try again after Retry-After seconds.",
)


def nobody(scope: Scope) -> bool:
    """The operator check when none is wired: no request is an operator's."""
    return False


def operator_token_check(
    token: str | None, header_name: bytes = b"x-operator-token"
) -> OperatorCheck:
    """Operators are requests whose ``header_name`` equals ``token`` (compared in
    constant time); with no token configured, nobody is."""
    if not token:
        return nobody
    expected = token.encode()

    def carries_token(scope: Scope) -> bool:
        given = header(scope, header_name)
        return given is not None and hmac.compare_digest(given.encode("latin-1"), expected)

    return carries_token


class MaintenanceMiddleware:
    def __init__(
        self, app: ASGIApp, *, retry_after: int, is_operator: OperatorCheck = nobody
    ) -> None:
        self.app = app
        self.retry_after = retry_after
        self.is_operator = is_operator

    async def _passes(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        if scope["type"] != "http" or is_probe(path) or is_inbound_webhook(path):
            return True
        verdict = self.is_operator(scope)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return bool(verdict)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await self._passes(scope):
            await self.app(scope, receive, send)
            return
        await send_problem(
            scope,
            send,
            name=MAINTENANCE,
            title=MAINTENANCE_TITLE,
            status=503,
            detail=f"Down for maintenance; try again in {self.retry_after} seconds.",
            headers={"Retry-After": str(self.retry_after)},
        )
