"""bookings a paid deposit leaves for staff to confirm; the conversation's booking

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(
            sa.Column("staff_confirms", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("booking_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversations_booking_id"), ["booking_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_booking_id"))
        batch_op.drop_column("booking_id")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_column("staff_confirms")
