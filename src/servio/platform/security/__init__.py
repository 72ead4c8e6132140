"""Credentials: password hashing and policy, signed tokens, TOTP, opaque secrets."""
