"""fraud breaker: rolling counts and breaker state

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fraud_counts",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "bucket", name=op.f("pk_fraud_counts")),
    )
    with op.batch_alter_table("fraud_counts", schema=None) as batch_op:
        batch_op.create_index("ix_fraud_counts_bucket", ["bucket"], unique=False)

    op.create_table(
        "fraud_breakers",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("probes", sa.Integer(), nullable=False),
        sa.Column("probe_failures", sa.Integer(), nullable=False),
        sa.Column("last_probe_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("override", sa.String(length=8), nullable=True),
        sa.Column("override_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("counts_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_fraud_breakers")),
    )


def downgrade() -> None:
    op.drop_table("fraud_breakers")
    with op.batch_alter_table("fraud_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_fraud_counts_bucket")
    op.drop_table("fraud_counts")
