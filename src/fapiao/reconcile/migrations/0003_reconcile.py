"""reconcile: runs and remedy actions

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("authority", sa.String(length=400), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconcile_runs_tenant_id_created_at"),
            ["tenant_id", "created_at"],
            unique=False,
        )
    op.create_table(
        "reconcile_actions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("identity_key", sa.String(length=48), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("remedy", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_run_id", sa.BigInteger(), nullable=False),
        sa.Column("last_run_id", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_actions")),
        sa.UniqueConstraint(
            "tenant_id",
            "category",
            "identity_key",
            name=op.f("uq_reconcile_actions_tenant_id_category_identity_key"),
        ),
    )
    with op.batch_alter_table("reconcile_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconcile_actions_tenant_id_state"), ["tenant_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reconcile_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_actions_tenant_id_state"))
    op.drop_table("reconcile_actions")
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_runs_tenant_id_created_at"))
    op.drop_table("reconcile_runs")
