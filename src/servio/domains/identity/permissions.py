"""Roles and what each may do. Routes check permissions, never role names."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    DISPATCHER = "DISPATCHER"
    FINANCE = "FINANCE"
    VIEWER = "VIEWER"
    WORKER = "WORKER"


PERMISSIONS: dict[str, str] = {
    "bookings:read": "See bookings, slots and customers",
    "bookings:write": "Create, confirm, reschedule and cancel bookings",
    "leads:read": "See leads and conversations",
    "leads:write": "Change leads and answer conversations",
    "finance:read": "See payments, invoices and reports",
    "finance:write": "Refund, invoice and reconcile",
    "settings:manage": "Change the business's settings, hours and pricing",
    "iam:manage": "Invite members, change roles, end sessions",
    "api_keys:manage": "Create and revoke API keys",
    "webhooks:manage": "Subscribe URLs to events, rotate their secrets, read deliveries",
    "admin:operate": "Operate queues, jobs and the dead-letter queue",
    "audit:read": "Read the audit log",
    "break_glass:use": "Write during read-only mode through a break-glass grant",
    "work:self": "See and update one's own assignments",
}

_ALL = frozenset(PERMISSIONS)

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.DISPATCHER: frozenset(
        {"bookings:read", "bookings:write", "leads:read", "leads:write", "work:self"}
    ),
    Role.FINANCE: frozenset({"bookings:read", "finance:read", "finance:write", "audit:read"}),
    Role.VIEWER: frozenset({"bookings:read", "leads:read", "finance:read"}),
    Role.WORKER: frozenset({"work:self"}),
}

# Roles whose members must use MFA when their org requires it.
MFA_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.FINANCE})


def permissions_of(role: str) -> frozenset[str]:
    return (
        ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in Role.__members__ else frozenset()
    )
