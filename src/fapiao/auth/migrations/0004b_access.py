"""access: API tokens expire and remember their last use

Revision ID: 0004b
Revises: 0004a

Tokens made before this migration get the default lifetime (90 days) from the moment of the
upgrade, so none is left without an expiry.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004b"
down_revision = "0004a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("expires_at", sa.String(length=40), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("last_used_at", sa.String(length=40), nullable=False, server_default="")
        )
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).isoformat(timespec="microseconds")
    op.get_bind().execute(
        sa.text("UPDATE api_tokens SET expires_at = :until WHERE expires_at = ''"), {"until": until}
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
