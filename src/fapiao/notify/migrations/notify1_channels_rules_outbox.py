"""notify: channels, rules, the message outbox and its delivery attempts

Revision ID: notify1
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "notify1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_channels")),
    )
    op.create_table(
        "notify_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=60), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"],
            ["notify_channels.name"],
            name=op.f("fk_notify_rules_channel_notify_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_rules")),
        sa.UniqueConstraint(
            "event",
            "channel",
            "tenant_id",
            "owner",
            name=op.f("uq_notify_rules_event_channel_tenant_id_owner"),
        ),
    )
    op.create_index(op.f("ix_notify_rules_event"), "notify_rules", ["event"], unique=False)
    op.create_table(
        "notify_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=60), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("sent_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_messages")),
    )
    op.create_index(
        op.f("ix_notify_messages_state_next_at"), "notify_messages", ["state", "next_at"]
    )
    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notify_messages.id"],
            name=op.f("fk_notify_attempts_message_id_notify_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_attempts")),
    )
    op.create_index(
        op.f("ix_notify_attempts_message_id"), "notify_attempts", ["message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("notify_attempts")
    op.drop_table("notify_messages")
    op.drop_table("notify_rules")
    op.drop_table("notify_channels")
