"""delivery retry state, message parts, history detail

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=34), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_parts")),
    )
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_parts_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_parts_provider_sid"), ["provider_sid"], unique=False)

    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.String(length=200), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refused_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("retry_provider", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("ambiguous_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("callback_url", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("callback_url")
        batch_op.drop_column("ambiguous_count")
        batch_op.drop_column("retry_provider")
        batch_op.drop_column("refused_by")

    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_column("detail")

    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_parts_provider_sid"))
        batch_op.drop_index(batch_op.f("ix_message_parts_message_id"))

    op.drop_table("message_parts")
