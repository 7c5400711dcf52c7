"""pending alerts: alert webhooks kept until their receiver takes them

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_alerts",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_alerts")),
    )
    with op.batch_alter_table("pending_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_alerts_lease_until"), ["lease_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_alerts_lease_until"))
    op.drop_table("pending_alerts")
