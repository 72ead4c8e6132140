"""Adapters to the outside world (Stripe, Meta, SMTP, S3, Turnstile)."""
