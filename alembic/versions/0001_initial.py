"""messages and verifications

Revision ID: 0001
Revises:
Create Date: 2026-11-25 10:24:07.115356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("receiver", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_status", sa.String(length=32), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("body_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification_id", sa.String(length=34), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_messages_outbox", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_provider_sid"), ["provider_sid"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_verification_id"), ["verification_id"], unique=False)

    op.create_table(
        "verifications",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("to", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("code_salt", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("app_hash", sa.String(length=16), nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("check_attempts", sa.Integer(), nullable=False),
        sa.Column("max_check_attempts", sa.Integer(), nullable=False),
        sa.Column("delivery_status", sa.String(length=16), nullable=True),
        sa.Column("last_message_id", sa.String(length=34), nullable=True),
        sa.Column("client_ip_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verifications_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_verifications_to_created", ["to", "created_at"], unique=False)
        batch_op.create_index(
            "uq_verifications_pending_to",
            ["to"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_verifications_pending_to",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_verifications_to_created")
        batch_op.drop_index(batch_op.f("ix_verifications_created_at"))

    op.drop_table("verifications")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_verification_id"))
        batch_op.drop_index(batch_op.f("ix_messages_provider_sid"))
        batch_op.drop_index("ix_messages_outbox")
        batch_op.drop_index(batch_op.f("ix_messages_created_at"))

    op.drop_table("messages")
