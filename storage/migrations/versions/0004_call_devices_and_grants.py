"""Locked call devices (the child's call screen on a centre device).

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("device_token_hash", sa.String(length=64), nullable=True),
        sa.Column("started_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_devices_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["users.id"], name=op.f("fk_call_devices_staff_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_devices")),
        sa.UniqueConstraint("device_token_hash", name=op.f("uq_call_devices_device_token_hash")),
    )
    with op.batch_alter_table("call_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_devices_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_devices_call_id"))
    op.drop_table("call_devices")
