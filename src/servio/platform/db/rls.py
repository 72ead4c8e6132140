"""Row-level security DDL for tenant tables, used by migrations (PostgreSQL only).

A row is visible when its ``org_id`` equals ``app.current_org_id`` of the transaction,
or when the transaction runs in system scope (cross-org workers). ``FORCE`` makes the
policy bind the table owner too; only superusers and BYPASSRLS roles escape it, and the
application role is neither: ``warn_if_bypassed`` logs a warning at start-up when it is,
and readiness shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.operations import Operations
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from servio.platform.logging import get_logger

log = get_logger("servio.db")

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


@dataclass(frozen=True)
class RlsBypass:
    """The connected role and why row-level security does not bind it."""

    role: str
    bypass: str  # "superuser" or "bypassrls"

    def check(self) -> dict[str, str]:
        """As a readiness check: degraded, naming the role."""
        return {"status": "degraded", "role": self.role, "bypass": self.bypass}


_ROLE = text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")


async def rls_bypass(engine: AsyncEngine) -> RlsBypass | None:
    """Whether the role ``engine`` connects as escapes row-level security (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        row = (await conn.execute(_ROLE)).one_or_none()
    if row is None or not (row.rolsuper or row.rolbypassrls):
        return None
    return RlsBypass(role=row.rolname, bypass="superuser" if row.rolsuper else "bypassrls")


async def warn_if_bypassed(engine: AsyncEngine) -> RlsBypass | None:
    """Log one structured warning when the tenant policies do not bind this role; an
    unreachable database is left to readiness to report."""
    try:
        found = await rls_bypass(engine)
    except Exception as exc:  # start-up goes on; /readyz names the database failure
        log.info("rls_role_unchecked", error=type(exc).__name__)
        return None
    if found is not None:
        log.warning(
            "rls_bypassed",
            role=found.role,
            bypass=found.bypass,
            detail=(
                f"the database role {found.role!r} is {found.bypass}: row-level security "
                "does not apply to it, so only the application's own org filters keep "
                "tenants apart; connect as a role with NOSUPERUSER NOBYPASSRLS"
            ),
        )
    return found
