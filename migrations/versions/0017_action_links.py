"""action links

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 13:51:10.669993
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import disable_rls, enable_rls

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_links",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_ip", sa.String(length=45), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_action_links_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_action_links_token_hash")),
    )
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_links_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_action_links_subject_id"), ["subject_id"], unique=False
        )
    enable_rls(op, "action_links")


def downgrade() -> None:
    disable_rls(op, "action_links")
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_links_subject_id"))
        batch_op.drop_index(batch_op.f("ix_action_links_org_id"))
    op.drop_table("action_links")
