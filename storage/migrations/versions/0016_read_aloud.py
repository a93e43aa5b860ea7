"""A centre's choice to let parents have the child's replies read aloud on their own device
(issue 21 item 5). On for every centre, existing ones included: the parents who need it are
the least able to ask for it, and nothing leaves the parent's device when it is used.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite included): a batch here would rebuild ``centres``, and dropping
    # the old table fails while families refer to it.
    op.add_column(
        "centres",
        sa.Column("read_aloud", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("centres", schema=None) as batch_op:
        batch_op.drop_column("read_aloud")
