"""HTTP building blocks: pure-ASGI middleware (request ids, access log, proxies, rate
limits, idempotency, maintenance, admin allowlist, NUL guard, no-store), Problem+JSON
handlers, the JSON route, the principal and request-context dependencies, and the
templates of plain pages."""
