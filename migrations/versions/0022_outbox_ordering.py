"""outbox ordering keys (messages of one key delivered one at a time, in order) and
the provider time of each conversation's newest applied message

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordering_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("ordering_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_ordering", ["ordering_key", "ordering_time"], unique=False)

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_message_ref", sa.String(length=255), nullable=True))

    with op.batch_alter_table("conversation_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("late", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("conversation_turns", schema=None) as batch_op:
        batch_op.drop_column("late")
        batch_op.drop_column("sent_at")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("last_message_ref")
        batch_op.drop_column("last_message_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ordering")
        batch_op.drop_column("ordering_time")
        batch_op.drop_column("ordering_key")
