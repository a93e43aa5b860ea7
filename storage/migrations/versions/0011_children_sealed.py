"""Children's names and years of birth sealed with the family key (issue 19 part 6), so a
crypto-shred destroys them. Existing rows are sealed here with each family's key, which needs
the master key: ``storage.db.upgrade`` passes it in (``letterbox db upgrade`` loads it).
A shredded family's children keep no name: their details are sealed under a throw-away key.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from storage.children import seal_child_with_key
from storage.keys import MasterKey, WrappedKey, new_data_key

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("details_sealed", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.family_id, c.name, c.birth_year, k.master_key_id, k.wrapped_key "
            "FROM children c LEFT JOIN family_keys k ON k.family_id = c.family_id"
        )
    ).all()
    master = context.config.attributes.get("master_key")
    if rows and not isinstance(master, MasterKey):
        raise RuntimeError(
            "sealing the children's names needs the master key: run `letterbox db upgrade` "
            "with LETTERBOX_MASTER_KEY or LETTERBOX_MASTER_KEY_FILE set"
        )
    keys: dict[uuid.UUID, bytes] = {}
    for child_id, family_id, name, birth_year, key_id, wrapped in rows:
        # SQLite hands back the hex text, PostgreSQL a UUID: the seal binds the dashed form.
        fid = family_id if isinstance(family_id, uuid.UUID) else uuid.UUID(str(family_id))
        if fid not in keys:
            keys[fid] = (
                master.unwrap(WrappedKey(key_id, bytes(wrapped)))
                if wrapped is not None and isinstance(master, MasterKey)
                else new_data_key()  # shredded: nobody can open it
            )
        bind.execute(
            sa.text("UPDATE children SET details_sealed = :sealed WHERE id = :id"),
            {"sealed": seal_child_with_key(keys[fid], fid, name, int(birth_year)), "id": child_id},
        )
    with op.batch_alter_table("children") as batch:
        batch.alter_column("details_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("name")
        batch.drop_column("birth_year")


def downgrade() -> None:
    raise NotImplementedError("the children's names were sealed; there is no way back")
