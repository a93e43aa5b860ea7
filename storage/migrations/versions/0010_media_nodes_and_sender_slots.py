"""Media nodes (where a call's signalling is forwarded; which nodes are alive) and the
sanitiser's per-sender slots shared by every worker.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0010"
# The lead chains migrations at merge; on this branch it follows the current head.
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_nodes",
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=False),
        sa.Column("incarnation", sa.String(length=64), nullable=False),
        sa.Column("seen_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_media_nodes")),
    )
    op.create_table(
        "sender_slots",
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", "slot", name=op.f("pk_sender_slots")),
    )


def downgrade() -> None:
    op.drop_table("sender_slots")
    op.drop_table("media_nodes")
