"""console: verifications.country and the indexes the operator console reads

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01 09:30:00.000000
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.create_index(
            "ix_verifications_created_country_status", ["created_at", "country", "status", "id"], unique=False
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_created_provider_status", ["created_at", "provider", "status"], unique=False)
        batch_op.create_index("ix_messages_verification_status", ["verification_id", "status"], unique=False)
        batch_op.create_index("ix_messages_receiver_created", ["receiver", "created_at"], unique=False)
    _backfill_countries()


def _backfill_countries() -> None:
    """Rows made before this revision get their number's region, as new ones do at creation."""
    connection = op.get_bind()
    table = sa.table(
        "verifications", sa.column("id", sa.String), sa.column("to", sa.String), sa.column("country", sa.String)
    )
    rows = connection.execute(sa.select(table.c.id, table.c.to)).all()
    updates = []
    for verification_id, number in rows:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            continue
        # As core.phone.country_of: a number phonenumbers holds invalid has no country.
        region = phonenumbers.region_code_for_number(parsed) if phonenumbers.is_valid_number(parsed) else None
        if region and len(region) == 2 and region.isalpha() and region != "ZZ":
            updates.append({"vid": verification_id, "country": region})
    statement = table.update().where(table.c.id == sa.bindparam("vid")).values(country=sa.bindparam("country"))
    for start in range(0, len(updates), BATCH):
        connection.execute(statement, updates[start : start + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_receiver_created")
        batch_op.drop_index("ix_messages_verification_status")
        batch_op.drop_index("ix_messages_created_provider_status")
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_verifications_created_country_status")
        batch_op.drop_column("country")
