"""Row-level security DDL for tenant tables, used by migrations (PostgreSQL only).

A row is visible when its ``org_id`` equals ``app.current_org_id`` of the transaction,
or when the transaction runs in system scope (cross-org workers). ``FORCE`` makes the
policy bind the table owner too; only superusers and BYPASSRLS roles escape it, and the
application role is neither (readiness warns when it is).
"""

from __future__ import annotations

POLICY = "tenant_isolation"

_PREDICATE = (
    "org_id = NULLIF(current_setting('app.current_org_id', true), '')::uuid "
    "OR current_setting('app.system_scope', true) = 'on'"
)


def enable_rls_sql(table: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({_PREDICATE}) WITH CHECK ({_PREDICATE})',
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]
