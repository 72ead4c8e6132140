"""reservation indexes for slot searches and hold release

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 12:30:06.665766
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("active")
ACTIVE_HOLD = sa.text("active AND expires_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        # A slot search reads an org's active reservations that end after its first day
        # starts; past ones, the bulk of a long-lived business, stay out of the scan.
        batch_op.create_index(
            "ix_reservations_org_id_active_ends_at",
            ["org_id", "ends_at"],
            unique=False,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )
        # A new reservation first releases its resource's lapsed holds.
        batch_op.create_index(
            "ix_reservations_resource_id_active_expires_at",
            ["resource_id", "expires_at"],
            unique=False,
            postgresql_where=ACTIVE_HOLD,
            sqlite_where=ACTIVE_HOLD,
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_resource_id_active_expires_at")
        batch_op.drop_index("ix_reservations_org_id_active_ends_at")
