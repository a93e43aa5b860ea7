"""The parent's side: drafts, a resent item's link to the one it replaces, the centre's
contact details.

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("centres", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("opening_hours", sa.String(length=200), nullable=True))
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_item_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_items_replaces_item_id"), ["replaces_item_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_items_replaces_item_id_items"), "items", ["replaces_item_id"], ["id"]
        )
    op.create_table(
        "parent_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("replaces_item_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_parent_drafts_family_id_families")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_item_id"], ["items.id"], name=op.f("fk_parent_drafts_replaces_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_parent_drafts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parent_drafts")),
        sa.UniqueConstraint("family_id", "user_id", name=op.f("uq_parent_drafts_family_id")),
    )
    with op.batch_alter_table("parent_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_parent_drafts_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_parent_drafts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parent_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parent_drafts_user_id"))
        batch_op.drop_index(batch_op.f("ix_parent_drafts_family_id"))
    op.drop_table("parent_drafts")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_items_replaces_item_id_items"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_items_replaces_item_id"))
        batch_op.drop_column("replaces_item_id")
    with op.batch_alter_table("centres", schema=None) as batch_op:
        batch_op.drop_column("opening_hours")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_phone")
