"""Supervised contact reports (checked by a second person, sealed on approval),
safeguarding concerns (an item withheld, the designated lead told and reminded) and the
contact plan (with the reminders sent before a letter is due).

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0009"
# The lead chains the branches' migrations at merge; 0003 is this branch's head.
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "contact_level",
            sa.Enum(
                "supported",
                "supervised",
                name="report_contact_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("call_id", sa.Uuid(), nullable=True),
        sa.Column("opening_session_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "returned",
                "approved",
                name="report_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fields_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("comments_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("checker_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("written_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "contact_level = 'supervised'", name=op.f("ck_contact_reports_supervised_only")
        ),
        sa.CheckConstraint(
            "checker_id IS NULL OR checker_id <> author_id",
            name=op.f("ck_contact_reports_second_person"),
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR (checker_id IS NOT NULL AND sha256 IS NOT NULL)",
            name=op.f("ck_contact_reports_approved_is_checked"),
        ),
        sa.CheckConstraint(
            "call_id IS NOT NULL OR opening_session_id IS NOT NULL",
            name=op.f("ck_contact_reports_about_a_contact"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_contact_reports_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"], ["users.id"], name=op.f("fk_contact_reports_checker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_contact_reports_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["family_id", "contact_level"],
            ["families.id", "families.contact_level"],
            name="fk_contact_reports_family_level",
        ),
        sa.ForeignKeyConstraint(
            ["opening_session_id"],
            ["opening_sessions.id"],
            name=op.f("fk_contact_reports_opening_session_id_opening_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_reports")),
        sa.UniqueConstraint("call_id", name=op.f("uq_contact_reports_call_id")),
        sa.UniqueConstraint(
            "opening_session_id", name=op.f("uq_contact_reports_opening_session_id")
        ),
    )
    with op.batch_alter_table("contact_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_reports_family_id"), ["family_id"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("safeguarding_lead", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withheld_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "safeguarding_concerns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("call_id", sa.Uuid(), nullable=True),
        sa.Column("opening_session_id", sa.Uuid(), nullable=True),
        sa.Column("raised_by", sa.Uuid(), nullable=False),
        sa.Column("raised_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "raised",
                "acknowledged",
                "actioned",
                name="concern_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("what_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("lead_told_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("admins_reminded_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("action_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("action_by", sa.Uuid(), nullable=True),
        sa.Column("action_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "item_id IS NOT NULL OR call_id IS NOT NULL OR opening_session_id IS NOT NULL",
            name=op.f("ck_safeguarding_concerns_about_a_contact"),
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_safeguarding_concerns_family_id_families")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_safeguarding_concerns_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_safeguarding_concerns_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["opening_session_id"],
            ["opening_sessions.id"],
            name=op.f("fk_safeguarding_concerns_opening_session_id_opening_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["users.id"], name=op.f("fk_safeguarding_concerns_raised_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_safeguarding_concerns_acknowledged_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["action_by"], ["users.id"], name=op.f("fk_safeguarding_concerns_action_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_concerns")),
    )
    with op.batch_alter_table("safeguarding_concerns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safeguarding_concerns_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index("ix_safeguarding_concerns_status", ["status", "raised_at"])
    op.create_table(
        "contact_plans",
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("changed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "review_on IS NULL OR review_on >= starts_on",
            name=op.f("ck_contact_plans_review_after_start"),
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_contact_plans_end_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_contact_plans_changed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_contact_plans_family_id_families")
        ),
        sa.PrimaryKeyConstraint("family_id", name=op.f("pk_contact_plans")),
    )
    op.create_table(
        "plan_reminders",
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_plan_reminders_family_id_families")
        ),
        sa.PrimaryKeyConstraint("family_id", "due_on", name=op.f("pk_plan_reminders")),
    )
    op.create_table(
        "centre_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "contact_level",
            sa.Enum(
                "supported",
                "supervised",
                name="visit_contact_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "session",
                "handover",
                "pre_visit",
                name="visit_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("party", sa.String(length=32), nullable=True),
        sa.Column("planned_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stagger_minutes", sa.Integer(), nullable=False),
        sa.Column("resident_arrived_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resident_left_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("visiting_arrived_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("visiting_left_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("child_arrived_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("child_left_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notes_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "notes_sealed IS NULL OR contact_level = 'supervised'",
            name=op.f("ck_centre_visits_notes_supervised_only"),
        ),
        sa.CheckConstraint(
            "kind <> 'handover' OR stagger_minutes >= 5",
            name=op.f("ck_centre_visits_handover_staggered"),
        ),
        sa.CheckConstraint(
            "kind <> 'pre_visit' OR party IS NOT NULL", name=op.f("ck_centre_visits_pre_visit_party")
        ),
        sa.ForeignKeyConstraint(
            ["family_id", "contact_level"],
            ["families.id", "families.contact_level"],
            name="fk_centre_visits_family_level",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_centre_visits_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centre_visits")),
    )
    with op.batch_alter_table("centre_visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_centre_visits_family_id"), ["family_id"], unique=False)
    kinds = ("youngest_25", "years_after_closure")
    op.create_table(
        "centre_retention",
        sa.Column("centre_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *kinds, name="retention_kind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.Column("changed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_centre_retention_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_centre_retention_changed_by_users")
        ),
        sa.PrimaryKeyConstraint("centre_id", name=op.f("pk_centre_retention")),
    )
    op.create_table(
        "retention_rules",
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *kinds,
                name="family_retention_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("years", sa.Integer(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=False),
        sa.Column("changed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_retention_rules_changed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_retention_rules_family_id_families")
        ),
        sa.PrimaryKeyConstraint("family_id", name=op.f("pk_retention_rules")),
    )
    op.create_table(
        "subject_access_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("subject_user_id", sa.Uuid(), nullable=True),
        sa.Column("subject_child_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_review",
                "released",
                name="subject_access_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("material_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("revealed", sa.JSON(), nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("released_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(subject_user_id IS NULL) <> (subject_child_id IS NULL)",
            name=op.f("ck_subject_access_requests_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name=op.f("fk_subject_access_requests_family_id_families")
        ),
        sa.ForeignKeyConstraint(
            ["subject_user_id"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_subject_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_child_id"],
            ["children.id"],
            name=op.f("fk_subject_access_requests_subject_child_id_children"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_subject_access_requests_requested_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_subject_access_requests_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_requests")),
    )
    with op.batch_alter_table("subject_access_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subject_access_requests_family_id"), ["family_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subject_access_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_access_requests_family_id"))
    op.drop_table("subject_access_requests")
    op.drop_table("retention_rules")
    op.drop_table("centre_retention")
    with op.batch_alter_table("centre_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centre_visits_family_id"))
    op.drop_table("centre_visits")
    op.drop_table("plan_reminders")
    op.drop_table("contact_plans")
    with op.batch_alter_table("safeguarding_concerns", schema=None) as batch_op:
        batch_op.drop_index("ix_safeguarding_concerns_status")
        batch_op.drop_index(batch_op.f("ix_safeguarding_concerns_family_id"))
    op.drop_table("safeguarding_concerns")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("withheld_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("safeguarding_lead")
    with op.batch_alter_table("contact_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_reports_family_id"))
    op.drop_table("contact_reports")
