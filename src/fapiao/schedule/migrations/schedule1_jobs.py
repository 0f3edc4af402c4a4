"""schedule: the scheduled jobs, their leases and last results

Revision ID: schedule1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "schedule1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("every_s", sa.Float(), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_started", sa.String(length=40), nullable=False),
        sa.Column("last_finished", sa.String(length=40), nullable=False),
        sa.Column("last_ok", sa.Integer(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_jobs")),
    )


def downgrade() -> None:
    op.drop_table("schedule_jobs")
