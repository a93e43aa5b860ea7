"""Children's names and years of birth, and each sender's relationship to the child, sealed
with the family key (issue 19 part 6), so a crypto-shred destroys them. Existing rows are
sealed here with each family's key, which needs the master key: ``storage.db.upgrade``
passes it in (``letterbox db upgrade`` loads it). A shredded family's rows are sealed under a
throw-away key: nobody can read them again, as after the shred.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from storage.children import seal_child_with_key, seal_relationship_with_key
from storage.keys import MasterKey, WrappedKey, new_data_key

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid(value: object) -> uuid.UUID:
    # SQLite hands back the hex text, PostgreSQL a UUID: the seal binds the dashed form.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _family_keys() -> dict[uuid.UUID, bytes]:
    """Every family's key, opened with the master key. A shredded family (or one without a
    key) gets a throw-away key, so what is sealed for it can never be opened."""
    master = context.config.attributes.get("master_key")
    keys: dict[uuid.UUID, bytes] = {}
    rows = op.get_bind().execute(
        sa.text(
            "SELECT f.id, k.master_key_id, k.wrapped_key "
            "FROM families f LEFT JOIN family_keys k ON k.family_id = f.id"
        )
    )
    for family_id, key_id, wrapped in rows.all():
        if wrapped is None:
            keys[_uuid(family_id)] = new_data_key()
        elif isinstance(master, MasterKey):
            keys[_uuid(family_id)] = master.unwrap(WrappedKey(key_id, bytes(wrapped)))
    return keys


def _key_for(keys: dict[uuid.UUID, bytes], family_id: object) -> tuple[uuid.UUID, bytes]:
    fid = _uuid(family_id)
    if fid not in keys:
        raise RuntimeError(
            "sealing the children's names needs the master key: run `letterbox db upgrade` "
            "with LETTERBOX_MASTER_KEY or LETTERBOX_MASTER_KEY_FILE set"
        )
    return fid, keys[fid]


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("details_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("family_senders") as batch:
        batch.add_column(sa.Column("relationship_sealed", sa.LargeBinary(), nullable=True))
    keys = _family_keys()
    for child_id, family_id, name, birth_year in bind.execute(
        sa.text("SELECT id, family_id, name, birth_year FROM children")
    ).all():
        fid, key = _key_for(keys, family_id)
        bind.execute(
            sa.text("UPDATE children SET details_sealed = :sealed WHERE id = :id"),
            {"sealed": seal_child_with_key(key, fid, name, int(birth_year)), "id": child_id},
        )
    for sender_id, family_id, relationship in bind.execute(
        sa.text("SELECT id, family_id, relationship_to_child FROM family_senders")
    ).all():
        fid, key = _key_for(keys, family_id)
        bind.execute(
            sa.text("UPDATE family_senders SET relationship_sealed = :sealed WHERE id = :id"),
            {"sealed": seal_relationship_with_key(key, fid, relationship), "id": sender_id},
        )
    with op.batch_alter_table("children") as batch:
        batch.alter_column("details_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("name")
        batch.drop_column("birth_year")
    with op.batch_alter_table("family_senders") as batch:
        batch.alter_column("relationship_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("relationship_to_child")


def downgrade() -> None:
    raise NotImplementedError("the children's names were sealed; there is no way back")
