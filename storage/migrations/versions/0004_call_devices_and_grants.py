"""Locked call devices (the child's call screen on a centre device); interpreters: the role
and the grants that scope them to the calls they are booked on.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_ROLES = ("admin", "staff", "supervisor", "parent", "referrer")
NEW_ROLES = (*OLD_ROLES, "interpreter")


def _listed(roles: tuple[str, ...]) -> str:
    return ", ".join(f"'{r}'" for r in roles)


def _set_roles(roles: tuple[str, ...], before: tuple[str, ...]) -> None:
    """The users.role CHECK constraint lists the roles: replace it."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role"), "users", f"role IN ({_listed(roles)})")
        return
    # SQLite cannot alter a CHECK constraint, and rebuilding users (batch mode) would drop the
    # old table under foreign keys that cascade: every session, recovery code and invitation
    # would go with it. SQLite's documented way to change a CHECK constraint in place is to
    # edit the stored schema (https://sqlite.org/lang_altertable.html#otheralter); the rows
    # already there satisfy the new list.
    old = f"CONSTRAINT ck_users_role CHECK (role IN ({_listed(before)}))"
    new = f"CONSTRAINT ck_users_role CHECK (role IN ({_listed(roles)}))"
    stored = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'")
    ).scalar_one()
    if old not in stored:
        raise RuntimeError(f"users.role: expected the constraint {old!r} in {stored!r}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :old, :new)"
            " WHERE type = 'table' AND name = 'users'"
        ),
        {"old": old, "new": new},
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _set_roles(NEW_ROLES, OLD_ROLES)
    op.create_table(
        "grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "scope_kind",
            sa.Enum(
                "call", name="grant_scope", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_grants_granted_by_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_grants_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("user_id", "scope_kind", "scope_id", name=op.f("uq_grants_user_id")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_scope_id"), ["scope_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_user_id"), ["user_id"], unique=False)
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
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_user_id"))
        batch_op.drop_index(batch_op.f("ix_grants_scope_id"))
    op.drop_table("grants")
    _set_roles(OLD_ROLES, NEW_ROLES)
