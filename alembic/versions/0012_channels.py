"""channels: a message's channel (sms, whatsapp, call, email) and language; email-sized destinations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=8), nullable=False, server_default="sms"))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.alter_column("receiver", existing_type=sa.String(length=16), type_=sa.String(length=254))
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.alter_column("to", existing_type=sa.String(length=16), type_=sa.String(length=254))


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.alter_column("to", existing_type=sa.String(length=254), type_=sa.String(length=16))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("receiver", existing_type=sa.String(length=254), type_=sa.String(length=16))
        batch_op.drop_column("language")
        batch_op.drop_column("channel")
