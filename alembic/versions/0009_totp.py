"""totp: entities, authenticator factors, challenges and recovery codes (SPEC 21)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "totp_entities",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("service_sid", sa.String(length=34), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_totp_entities")),
        sa.UniqueConstraint("identity", name=op.f("uq_totp_entities_identity")),
    )
    op.create_table(
        "totp_factors",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("entity_sid", sa.String(length=34), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("friendly_name", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("skew", sa.Integer(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failure_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_totp_factors")),
    )
    with op.batch_alter_table("totp_factors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_totp_factors_entity_sid"), ["entity_sid"], unique=False)
        batch_op.create_index(batch_op.f("ix_totp_factors_identity"), ["identity"], unique=False)
    op.create_table(
        "totp_challenges",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("factor_sid", sa.String(length=34), nullable=False),
        sa.Column("entity_sid", sa.String(length=34), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("responded_reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_totp_challenges")),
    )
    with op.batch_alter_table("totp_challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_totp_challenges_factor_sid"), ["factor_sid"], unique=False)
        batch_op.create_index(batch_op.f("ix_totp_challenges_identity"), ["identity"], unique=False)
    op.create_table(
        "totp_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_recovery_codes")),
    )
    with op.batch_alter_table("totp_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_totp_recovery_codes_identity"), ["identity"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("totp_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_totp_recovery_codes_identity"))
    op.drop_table("totp_recovery_codes")
    with op.batch_alter_table("totp_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_totp_challenges_identity"))
        batch_op.drop_index(batch_op.f("ix_totp_challenges_factor_sid"))
    op.drop_table("totp_challenges")
    with op.batch_alter_table("totp_factors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_totp_factors_identity"))
        batch_op.drop_index(batch_op.f("ix_totp_factors_entity_sid"))
    op.drop_table("totp_factors")
    op.drop_table("totp_entities")
