"""Row-level security DDL for tenant tables, used by migrations (PostgreSQL only).

A row is visible when its ``org_id`` equals ``app.current_org_id`` of the transaction,
or when the transaction runs in system scope (cross-org workers). ``FORCE`` makes the
policy bind the table owner too; only superusers and BYPASSRLS roles escape it, and the
application role is neither (readiness warns when it is).
"""

from __future__ import annotations

from alembic.operations import Operations

POLICY = "tenant_isolation"

_CURRENT_ORG = "NULLIF(current_setting('app.current_org_id', true), '')::uuid"
_SYSTEM_SCOPE = "current_setting('app.system_scope', true) = 'on'"

TENANT_PREDICATE = f"org_id = {_CURRENT_ORG} OR {_SYSTEM_SCOPE}"

# For tables whose org_id may be NULL: such a row belongs to the deployment, not to any
# tenant, so only system scope may read or write it. (NULL = x is never true, so the
# tenant predicate would hide it as well; the explicit test keeps that from resting on
# SQL's three-valued logic.)
NULLABLE_ORG_PREDICATE = f"(org_id IS NOT NULL AND org_id = {_CURRENT_ORG}) OR {_SYSTEM_SCOPE}"


def enable_rls_sql(table: str, predicate: str = TENANT_PREDICATE) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({predicate}) WITH CHECK ({predicate})',
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


def enable_rls(op: Operations, *tables: str, predicate: str = TENANT_PREDICATE) -> None:
    """In a migration: put ``tables`` under the tenant policy (PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            for statement in enable_rls_sql(table, predicate):
                op.execute(statement)


def disable_rls(op: Operations, *tables: str) -> None:
    """In a migration's downgrade: drop the tenant policy of ``tables`` (PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            for statement in disable_rls_sql(table):
                op.execute(statement)
