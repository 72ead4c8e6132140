"""HTTP building blocks: pure-ASGI middleware, Problem+JSON handlers, the JSON route."""
