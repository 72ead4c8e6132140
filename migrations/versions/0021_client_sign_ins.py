"""client portal sign-ins (emailed links and the sessions they open)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 15:04:38.230783
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import disable_rls, enable_rls

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_sign_ins",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_ip", sa.String(length=45), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_client_sign_ins_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_sign_ins")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_client_sign_ins_nonce_hash")),
    )
    with op.batch_alter_table("client_sign_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_sign_ins_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_client_sign_ins_org_id"), ["org_id"], unique=False)

    enable_rls(op, "client_sign_ins")


def downgrade() -> None:
    disable_rls(op, "client_sign_ins")
    with op.batch_alter_table("client_sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_sign_ins_org_id"))
        batch_op.drop_index(batch_op.f("ix_client_sign_ins_email"))

    op.drop_table("client_sign_ins")
