"""email suppressions: addresses not to mail, per org or deployment-wide, under RLS

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import NULLABLE_ORG_PREDICATE, disable_rls, enable_rls

revision: str = "0009"
# Follows the latest revision on this line; re-point at "0006" once the jobs migration lands.
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_suppressions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('bounce', 'complaint', 'unsubscribe', 'manual')",
            name=op.f("ck_email_suppressions_reason_known"),
        ),
        sa.CheckConstraint(
            "address = lower(address)", name=op.f("ck_email_suppressions_address_lowercase")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_email_suppressions_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_suppressions")),
    )
    op.create_index(
        "uq_email_suppressions_org_address",
        "email_suppressions",
        ["org_id", "address"],
        unique=True,
    )
    op.create_index(
        "uq_email_suppressions_deployment_address",
        "email_suppressions",
        ["address"],
        unique=True,
        postgresql_where=sa.text("org_id IS NULL"),
        sqlite_where=sa.text("org_id IS NULL"),
    )
    enable_rls(op, "email_suppressions", predicate=NULLABLE_ORG_PREDICATE)


def downgrade() -> None:
    disable_rls(op, "email_suppressions")
    op.drop_index("uq_email_suppressions_deployment_address", table_name="email_suppressions")
    op.drop_index("uq_email_suppressions_org_address", table_name="email_suppressions")
    op.drop_table("email_suppressions")
