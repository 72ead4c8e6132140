"""Server-rendered pages (Jinja2 + htmx): the public booking page, the staff console and
the client portal. Page handlers call the same domain services as the API; no business
rule lives in a template or a handler."""
