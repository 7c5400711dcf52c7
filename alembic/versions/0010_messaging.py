"""messaging: idempotency keys, Messages.json records, status callbacks, app webhooks, opt-outs, inbound SMS

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "app_messages",
        sa.Column("message_id", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("messaging_service_sid", sa.String(length=34), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_app_messages")),
    )
    op.create_index("ix_app_messages_account_created", "app_messages", ["account_sid", "created_at"], unique=False)
    op.create_table(
        "status_callbacks",
        sa.Column("message_id", sa.String(length=34), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("account_sid", sa.String(length=64), nullable=False),
        sa.Column("credential", sa.LargeBinary(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_status_callbacks")),
    )
    op.create_index(op.f("ix_status_callbacks_created_at"), "status_callbacks", ["created_at"], unique=False)
    op.create_table(
        "app_webhooks",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("credential", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_webhooks")),
    )
    op.create_index(op.f("ix_app_webhooks_next_attempt_at"), "app_webhooks", ["next_attempt_at"], unique=False)
    op.create_table(
        "opt_outs",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_opt_outs")),
    )
    op.create_index(op.f("ix_opt_outs_created_at"), "opt_outs", ["created_at"], unique=False)
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("receiver", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
    )
    op.create_index(op.f("ix_inbound_messages_created_at"), "inbound_messages", ["created_at"], unique=False)


def downgrade() -> None:
    for table, index in (
        ("inbound_messages", "ix_inbound_messages_created_at"),
        ("opt_outs", "ix_opt_outs_created_at"),
        ("app_webhooks", "ix_app_webhooks_next_attempt_at"),
        ("status_callbacks", "ix_status_callbacks_created_at"),
        ("app_messages", "ix_app_messages_account_created"),
    ):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
