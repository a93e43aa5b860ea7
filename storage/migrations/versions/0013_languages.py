"""Each person's language, and the language of a family's child view (issue 21).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    with op.batch_alter_table("families") as batch:
        batch.add_column(
            sa.Column("child_language", sa.String(8), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("families") as batch:
        batch.drop_column("child_language")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
