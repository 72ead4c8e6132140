"""Which requests are a person's browser asking for a page, and the page a crash answers
them with. The web layer registers its rendered 500 page at start-up; the guard that
turns an unhandled error into a 500 sends it instead of Problem+JSON to such requests."""

from __future__ import annotations

from starlette.types import Scope, Send

# Machine paths answer Problem+JSON whatever the client accepts.
MACHINE_PREFIXES = ("/v1/", "/webhooks/", "/admin/", "/metrics", "/health", "/ready", "/dev/")

_error_page: dict[str, bytes] = {}


def wants_page(path: str, accept: str) -> bool:
    """A browser navigating to a page: it accepts HTML and the path is not an API's."""
    return "text/html" in accept and not path.startswith(MACHINE_PREFIXES)


def scope_wants_page(scope: Scope) -> bool:
    accept = b""
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            accept = value
            break
    return wants_page(scope.get("path", ""), accept.decode("latin-1"))


def register_crash_page(body: bytes) -> None:
    """The HTML sent for an unhandled error on a page (rendered once by the web layer)."""
    _error_page["500"] = body


async def send_crash_page(scope: Scope, send: Send) -> bool:
    """Send the registered 500 page when the request wants one; False when it does not."""
    body = _error_page.get("500")
    if body is None or not scope_wants_page(scope):
        return False
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return True
