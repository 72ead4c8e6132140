"""scheduled jobs (schedules with leases, run history) and inbound external events

Revision ID: 0010
Create Date: 2026-11-26

Chained after whichever revision precedes it; ``down_revision`` alone names it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servio.platform.db.rls import NULLABLE_ORG_PREDICATE, disable_rls, enable_rls

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_job_tables() -> None:
    # Platform tables: jobs work across orgs, so no org_id and no RLS.
    op.create_table(
        "job_schedules",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("schedule", sa.String(length=120), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_schedules")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job", sa.String(length=120), nullable=False),
        sa.Column("worker_id", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('ok', 'error', 'timeout')", name=op.f("ck_job_runs_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"], unique=False)


def _create_external_events() -> None:
    op.create_table(
        "external_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_external_events_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_external_events_provider_event_id"),
    )
    op.create_index(op.f("ix_external_events_org_id"), "external_events", ["org_id"])
    op.create_index(op.f("ix_external_events_processed_at"), "external_events", ["processed_at"])
    # An event not yet matched to an org (NULL org_id) is the deployment's: system scope only.
    enable_rls(op, "external_events", predicate=NULLABLE_ORG_PREDICATE)


def upgrade() -> None:
    _create_job_tables()
    _create_external_events()


def downgrade() -> None:
    disable_rls(op, "external_events")
    op.drop_index(op.f("ix_external_events_processed_at"), table_name="external_events")
    op.drop_index(op.f("ix_external_events_org_id"), table_name="external_events")
    op.drop_table("external_events")
    op.drop_index("ix_job_runs_job_started_at", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_schedules")
