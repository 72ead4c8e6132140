"""``Cache-Control: no-store`` on private answers, in one place.

An answer is private when its request carried credentials (an ``Authorization`` or
``X-Admin-API-Key`` header, or one of the session cookies the composition root names)
or when its path is under a private prefix (the staff console: even its sign-in page).
A shared cache or the browser's back button must never keep a copy of one. A response
that declares itself ``public`` (static files, the same for everyone) keeps its own
caching; any other ``Cache-Control`` on a private answer is replaced."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = b"cache-control"
NO_STORE = (CACHE_CONTROL, b"no-store")
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-admin-api-key"})


def _cookie_names(raw: bytes) -> set[str]:
    """The names in a ``Cookie`` header, read leniently: one malformed cookie must not
    hide the session cookie after it (a strict parser stops at the first bad one)."""
    return {part.split("=", 1)[0].strip() for part in raw.decode("latin-1").split(";")}


def _private_path(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


class NoStoreMiddleware:
    """Marks private answers ``no-store`` (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        session_cookies: Iterable[str],
        private_prefixes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.session_cookies = frozenset(session_cookies)
        self.private_prefixes = tuple(private_prefixes)

    def is_private(self, scope: Scope) -> bool:
        if _private_path(str(scope.get("path", "")), self.private_prefixes):
            return True
        for name, value in scope.get("headers", ()):
            if name in CREDENTIAL_HEADERS and value.strip():
                return True
            if name == b"cookie" and not self.session_cookies.isdisjoint(_cookie_names(value)):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.is_private(scope):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                own = [v for k, v in headers if k.lower() == CACHE_CONTROL]
                if not any(b"public" in v.lower() for v in own):
                    kept = [(k, v) for k, v in headers if k.lower() != CACHE_CONTROL]
                    message["headers"] = [*kept, NO_STORE]
            await send(message)

        await self.app(scope, receive, send_private)
