"""conversations (one per org, channel and contact) and their turns, under RLS

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 13:51:50.315193
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import disable_rls, enable_rls

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("conversations", "conversation_turns")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=120), nullable=False),
        sa.Column("vertical", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("resume_stage", sa.String(length=24), nullable=True),
        sa.Column("question", sa.String(length=40), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("handed_over", sa.Boolean(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_conversations_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("org_id", "channel", "contact", name="uq_conversations_contact"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_stage"), ["stage"], unique=False)

    op.create_table(
        "conversation_turns",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_id", sa.String(length=120), nullable=True),
        sa.Column("question", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("parse_outcome", sa.String(length=10), nullable=True),
        sa.Column("parse_kind", sa.String(length=40), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_turns_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_conversation_turns_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_turns")),
    )
    with op.batch_alter_table("conversation_turns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_turns_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_turns_org_created", ["org_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversation_turns_org_id"), ["org_id"], unique=False)

    enable_rls(op, *TABLES)


def downgrade() -> None:
    disable_rls(op, *TABLES)
    with op.batch_alter_table("conversation_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_turns_org_id"))
        batch_op.drop_index("ix_conversation_turns_org_created")
        batch_op.drop_index(batch_op.f("ix_conversation_turns_conversation_id"))

    op.drop_table("conversation_turns")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_stage"))
        batch_op.drop_index(batch_op.f("ix_conversations_org_id"))

    op.drop_table("conversations")
