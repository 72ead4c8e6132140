"""The web app and its wiring: the app factory that mounts every domain's routers, the
container, the worker's outbox handlers and jobs, the OpenAPI document, probes, the
operators' outbox and job routes, inbound Stripe and WhatsApp webhooks, unsubscribe
links and the server-rendered pages."""
