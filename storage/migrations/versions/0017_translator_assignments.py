"""Translators: the role, and the assignments that scope them to the families whose items
they moderate (issue 21 item 4). Like an interpreter, a translator reaches nothing by role.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0017"
# Re-chained at merge after 0013 (written in parallel); 0012 is this branch's head.
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_ROLES = ("admin", "staff", "supervisor", "parent", "referrer", "interpreter")
NEW_ROLES = (*OLD_ROLES, "translator")


def _listed(roles: tuple[str, ...]) -> str:
    return ", ".join(f"'{r}'" for r in roles)


def _set_roles(roles: tuple[str, ...], before: tuple[str, ...]) -> None:
    """The users.role CHECK constraint lists the roles: replace it (as 0004 did for the
    interpreter; SQLite's stored schema is edited in place, see there why)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role"), "users", f"role IN ({_listed(roles)})")
        return
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
        "translator_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name=op.f("fk_translator_assignments_assigned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_translator_assignments_family_id_families")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_translator_assignments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translator_assignments")),
        sa.UniqueConstraint(
            "user_id", "family_id", name=op.f("uq_translator_assignments_user_id")
        ),
    )
    with op.batch_alter_table("translator_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_translator_assignments_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_translator_assignments_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("translator_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_translator_assignments_user_id"))
        batch_op.drop_index(batch_op.f("ix_translator_assignments_family_id"))
    op.drop_table("translator_assignments")
    # Translators' accounts cannot stay under a constraint that no longer names them, and
    # deleting accounts is not a migration's decision.
    left = op.get_bind().execute(
        sa.text("SELECT count(*) FROM users WHERE role = 'translator'")
    ).scalar_one()
    if left:
        raise RuntimeError(f"{left} translator accounts exist: disable and remove them first")
    _set_roles(OLD_ROLES, NEW_ROLES)
