"""Orgs (tenants), and later users, memberships, roles, sessions, MFA and API keys."""
