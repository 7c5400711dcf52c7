"""fraud tallies: the breaker counts sends and approvals as they happen, per second and replica

The old per-minute counts (`fraud_counts`) counted a verification only once settled; they are
dropped, not converted: the breaker starts counting afresh (they were a statistical signal over
one window, not a ledger).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fraud_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_fraud_counts_bucket")
    op.drop_table("fraud_counts")
    op.create_table(
        "fraud_tallies",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("replica", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("early", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "bucket", "replica", name=op.f("pk_fraud_tallies")),
    )
    with op.batch_alter_table("fraud_tallies", schema=None) as batch_op:
        batch_op.create_index("ix_fraud_tallies_bucket", ["bucket"], unique=False)
        batch_op.create_index("ix_fraud_tallies_written_at", ["written_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fraud_tallies", schema=None) as batch_op:
        batch_op.drop_index("ix_fraud_tallies_written_at")
        batch_op.drop_index("ix_fraud_tallies_bucket")
    op.drop_table("fraud_tallies")
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
