"""A referral's personal details (the referrer's name, organisation and e-mail, children, court
order reference, known risks, parents, the places and names of the risk) in one value: sealed under the centre key while the referral
waits, with the family key once it is accepted, so a crypto-shred destroys them (issue 19
part 6). Opening the old centre-sealed values and the family keys needs the master key, which
``storage.db.upgrade`` passes in. A shredded family's referral is sealed under a throw-away
key: nobody can read it again, as after the shred.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from storage.children import ReferralDetails, seal_referral_for_centre, seal_referral_with_key
from storage.keyring import KeyRing
from storage.keys import MasterKey, WrappedKey, new_data_key

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = {
    "known_risks": "referral-known-risks",
    "parents": "referral-parents",
    "risk_terms": "referral-risk-terms",
}


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("details_sealed", sa.LargeBinary(), nullable=True))
    rows = bind.execute(
        sa.text(
            "SELECT r.id, r.family_id, r.children, r.court_order_reference, "
            "r.referrer_name, r.referrer_organisation, r.referrer_email, "
            "r.known_risks_sealed, r.parents_sealed, r.risk_terms_sealed, "
            "k.master_key_id, k.wrapped_key "
            "FROM referrals r LEFT JOIN family_keys k ON k.family_id = r.family_id"
        )
    ).all()
    master = context.config.attributes.get("master_key")
    if rows and not isinstance(master, MasterKey):
        raise RuntimeError(
            "sealing the referrals' details needs the master key: run `letterbox db upgrade` "
            "with LETTERBOX_MASTER_KEY or LETTERBOX_MASTER_KEY_FILE set"
        )
    for row in rows:
        assert isinstance(master, MasterKey)  # noqa: S101 - checked above
        ring = KeyRing(master)

        def opened(sealed: bytes | None, what: str) -> Any:
            if sealed is None:
                return None
            return ring.open_for_centre(bytes(sealed), _OLD[what])

        risks = opened(row.known_risks_sealed, "known_risks")
        parents = opened(row.parents_sealed, "parents")
        terms = opened(row.risk_terms_sealed, "risk_terms")
        details = ReferralDetails(
            children=list(_json(row.children) or []),
            court_order_reference=row.court_order_reference,
            known_risks=risks.decode() if risks is not None else None,
            parents=list(json.loads(parents)) if parents is not None else [],
            risk_terms=[str(t) for t in json.loads(terms)] if terms is not None else [],
            referrer_name=row.referrer_name,
            referrer_organisation=row.referrer_organisation,
            referrer_email=row.referrer_email,
        )
        if row.family_id is None:
            sealed = seal_referral_for_centre(ring, details)
        else:
            family = _uuid(row.family_id)
            key = (
                master.unwrap(WrappedKey(row.master_key_id, bytes(row.wrapped_key)))
                if row.wrapped_key is not None
                else new_data_key()  # shredded (or no key): nobody can open it
            )
            sealed = seal_referral_with_key(key, family, details)
        bind.execute(
            sa.text("UPDATE referrals SET details_sealed = :sealed WHERE id = :id"),
            {"sealed": sealed, "id": row.id},
        )
    with op.batch_alter_table("referrals") as batch:
        batch.alter_column("details_sealed", existing_type=sa.LargeBinary(), nullable=False)
        for column in (
            "referrer_name",
            "referrer_organisation",
            "referrer_email",
            "children",
            "court_order_reference",
            "known_risks_sealed",
            "parents_sealed",
            "risk_terms_sealed",
        ):
            batch.drop_column(column)


def downgrade() -> None:
    raise NotImplementedError("the referrals' details were sealed; there is no way back")
