"""tenant_policies: four eyes for approvals

Revision ID: 0010
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_policies",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("four_eyes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_policies")),
    )


def downgrade() -> None:
    op.drop_table("tenant_policies")
