"""The centre's working day: moderation claims, the waiting target, referral parents and
risk terms.

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("moderator_id", sa.Uuid(), nullable=False),
        sa.Column("claimed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("taken_over_from", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["moderator_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["taken_over_from"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_item_claims_item_current", "item_claims", ["item_id", "released_at"], unique=False
    )
    op.create_table(
        "moderation_targets",
        sa.Column("centre_id", sa.Uuid(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column(
            "late_notice_sent_at", storage.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.PrimaryKeyConstraint("centre_id"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parents_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("risk_terms_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("risk_terms_sealed")
        batch_op.drop_column("parents_sealed")
    op.drop_table("moderation_targets")
    op.drop_index("ix_item_claims_item_current", table_name="item_claims")
    op.drop_table("item_claims")
