"""insight: the derived facts are made again, now with a line for each invoice without line items

Revision ID: 0008a
Revises: 0008
"""

from alembic import op

revision = "0008a"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # derived data only: with no recorded position the next refresh rebuilds every row
    op.execute("DELETE FROM insight_state")


def downgrade() -> None:
    op.execute("DELETE FROM insight_state")
