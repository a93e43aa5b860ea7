"""Words read from images and pages (OCR), sealed with the family key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_parts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_text_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_parts", schema=None) as batch_op:
        batch_op.drop_column("read_text_sealed")
