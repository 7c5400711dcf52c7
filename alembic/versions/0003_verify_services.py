"""verify services (Twilio Verify compatible API)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verify_services",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_verify_services")),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_sid", sa.String(length=34), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_column("service_sid")
    op.drop_table("verify_services")
