"""Chat channels store their contacts and messages (WhatsApp first).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import disable_rls, enable_rls

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("channel_contacts", "channel_messages")


def upgrade() -> None:
    op.create_table(
        "channel_contacts",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_channel_contacts_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_contacts")),
        sa.UniqueConstraint("org_id", "channel", "address", name="uq_channel_contacts_address"),
    )
    with op.batch_alter_table("channel_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_contacts_org_id"), ["org_id"], unique=False)

    op.create_table(
        "channel_messages",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("media_ref", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_channel_messages_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_messages")),
        sa.UniqueConstraint(
            "channel", "provider_message_id", name="uq_channel_messages_provider_id"
        ),
    )
    with op.batch_alter_table("channel_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_messages_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_channel_messages_thread",
            ["org_id", "channel", "contact", "created_at"],
            unique=False,
        )
    enable_rls(op, *TABLES)


def downgrade() -> None:
    disable_rls(op, *TABLES)
    with op.batch_alter_table("channel_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_messages_thread")
        batch_op.drop_index(batch_op.f("ix_channel_messages_org_id"))

    op.drop_table("channel_messages")
    with op.batch_alter_table("channel_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_contacts_org_id"))

    op.drop_table("channel_contacts")
