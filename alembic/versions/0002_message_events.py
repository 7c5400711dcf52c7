"""message events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:30:21.666500
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("provider_status", sa.String(length=32), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
    )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_events_message_id"), ["message_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_events_message_id"))

    op.drop_table("message_events")
