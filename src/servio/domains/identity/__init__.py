"""Who may do what: orgs (tenants) and their settings, users, memberships and roles,
sign-in, sessions, MFA, API keys, invitations and password resets, lockout, read-only
mode with break-glass grants, and identity's entries in the audit log."""
