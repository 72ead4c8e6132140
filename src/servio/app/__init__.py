"""The composition root: settings → one typed ``Container`` (database, clock, catalog,
payment gateway, WhatsApp client, mailer, limiter) → the API app (``servio.web``) and
the worker. ``domains.DOMAINS`` names every domain; each domain's ``manifest`` module
gives its tables, routers, outbox handlers, jobs, email templates and demo seeders."""
