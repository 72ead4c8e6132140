"""Adapters to the outside world: Stripe through its SDK (and a local stand-in for it) and
the WhatsApp Cloud API. SMTP and Turnstile live in ``platform`` (``email``, ``captcha``)."""
