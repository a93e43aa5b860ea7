"""The language a letter's text seems to be in (issue 21 item 4): item_parts.language_sealed,
the detected language's code sealed with the family key. Letters stored before it have none,
and their moderation pages say nothing about their language, as for a letter too short to tell.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_parts") as batch:
        batch.add_column(sa.Column("language_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_parts") as batch:
        batch.drop_column("language_sealed")
