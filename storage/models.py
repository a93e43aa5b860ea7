"""Typed SQLAlchemy models for the whole Letterbox domain.

Content (letters, notes, photos, reasons typed by staff) never sits here in the clear: columns
ending in ``_sealed`` hold ciphertext made by ``storage.vault`` under the family key, and
files live in the object store, referenced through ``StoredObject``. Models never commit;
writes happen inside ``async with sessionmaker.begin()``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every database.

    SQLite has no time zone type and hands back naive values; refusing naive input and
    re-attaching UTC on the way out keeps every timestamp in the app aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as checked strings, not native PostgreSQL enums: adding a value is then a
    # plain migration on both SQLite and PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


# --- closed vocabularies -------------------------------------------------------------


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    PARENT = "parent"
    REFERRER = "referrer"
    # Sees nothing of the centre by role: only the calls a grant names (``Grant``).
    INTERPRETER = "interpreter"
    # Sees nothing of the centre by role: only the moderation of the families an admin
    # assigned them to (``TranslatorAssignment``), for letters in languages staff do not read.
    TRANSLATOR = "translator"

    @property
    def is_centre_staff(self) -> bool:
        return self in (Role.ADMIN, Role.STAFF, Role.SUPERVISOR)

    @property
    def needs_second_factor(self) -> bool:
        """Invited like staff, with TOTP: centre staff, interpreters and translators."""
        return self.is_centre_staff or self in (Role.INTERPRETER, Role.TRANSLATOR)


class AccountStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class ContactLevel(enum.StrEnum):
    SUPPORTED = "supported"
    SUPERVISED = "supervised"


class FamilyStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    LETTERS = "letters"
    PHOTOS = "photos"
    GIFTS = "gifts"
    VIDEO = "video"


class ReferralStatus(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a secret


class Direction(enum.StrEnum):
    TO_CHILD = "to_child"
    TO_PARENT = "to_parent"


class ItemKind(enum.StrEnum):
    LETTER = "letter"
    REPLY = "reply"
    DIGITAL_GIFT = "digital_gift"


class ItemStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    RETURNED = "returned"
    REJECTED = "rejected"
    OPENED = "opened"


class PartKind(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"
    DOCUMENT = "document"


class ObjectRole(enum.StrEnum):
    ORIGINAL = "original"
    SANITISED = "sanitised"
    DELIVERED = "delivered"
    NOTE = "note"
    GIFT_PHOTO = "gift_photo"
    EXPORT = "export"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_REDACTIONS = "approve_with_redactions"
    CONFIRM = "confirm"
    RETURN = "return"
    REJECT = "reject"


class GiftStatus(enum.StrEnum):
    RECEIVED = "received"
    CHECKED = "checked"
    HANDED_OVER = "handed_over"
    RETURNED = "returned"


class CallStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


# --- centre and people ---------------------------------------------------------------


class Centre(Base):
    __tablename__ = "centres"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How a parent reaches the centre, set by an admin; shown on pages and in e-mail footers.
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    # Whether a parent's reply pages offer "Read this aloud" (on-device voices only). On
    # unless the centre turns it off: the parents who need it are the least able to ask.
    read_aloud: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), default=AccountStatus.INVITED
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # TOTP secret sealed under the master key; the last accepted time step stops replays.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    # The centre's designated safeguarding lead (set by an admin on a staff account; not a role).
    safeguarding_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The language of this person's pages and e-mails (service.i18n.LANGUAGES).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", lazy="raise_on_sql", cascade="all, delete-orphan"
    )


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="recovery_codes", lazy="raise_on_sql")


class WebSession(Base):
    """A server-side sign-in session. The cookie holds a random token; only its hash is here."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class OneTimeToken(Base):
    """Invite and password-reset links: random token, stored hashed, single use, expiring."""

    __tablename__ = "one_time_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failure counters per account and per client address (key is "account:…" or "ip:…")."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None]


class SecurityEvent(Base):
    """The security log: sign-ins, failures, 2FA and role changes. Not the family record."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- referrals and families ----------------------------------------------------------


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), index=True)
    referrer_kind: Mapped[str] = mapped_column(String(64))  # solicitor, social worker, CAFCASS…
    contact_level: Mapped[ContactLevel] = mapped_column(_enum(ContactLevel, "contact_level"))
    channels: Mapped[list[Any]] = mapped_column(default=list)
    # The referrer's name, organisation and e-mail, the children, court order reference, known
    # risks, parents and the places and names the risk concerns (storage.children.ReferralDetails): sealed under the centre key while the
    # referral waits, with the family key once accepted, so a shred destroys them.
    details_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[ReferralStatus] = mapped_column(
        _enum(ReferralStatus, "referral_status"), default=ReferralStatus.RECEIVED
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id"))


class Family(Base):
    __tablename__ = "families"
    __table_args__ = (
        # Target of the observation-note constraint: a note carries its family's level.
        UniqueConstraint("id", "contact_level", name="uq_families_id_level"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), index=True)
    case_reference: Mapped[str] = mapped_column(String(64), unique=True)
    contact_level: Mapped[ContactLevel] = mapped_column(_enum(ContactLevel, "contact_level"))
    channels: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[FamilyStatus] = mapped_column(
        _enum(FamilyStatus, "family_status"), default=FamilyStatus.ACTIVE
    )
    requires_second_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language of the child's view at the centre (service.i18n.LANGUAGES).
    child_language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

    children: Mapped[list[Child]] = relationship(back_populates="family", lazy="raise_on_sql")
    senders: Mapped[list[FamilySender]] = relationship(back_populates="family", lazy="raise_on_sql")


class Child(Base):
    __tablename__ = "children"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    # {"name": first or chosen name only, "birth_year": …} sealed with the family key:
    # read and written only through storage.children.
    details_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    family: Mapped[Family] = relationship(back_populates="children", lazy="raise_on_sql")


class FamilySender(Base):
    """A parent or other approved relative allowed to send to the family's children."""

    __tablename__ = "family_senders"
    __table_args__ = (UniqueConstraint("family_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    # "father", "grandmother"…, sealed with the family key (storage.children).
    relationship_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)

    family: Mapped[Family] = relationship(back_populates="senders", lazy="raise_on_sql")


class SensitiveTerm(Base):
    """School, new surname, street, town, clubs…: flagged by the scanner in both directions."""

    __tablename__ = "sensitive_terms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    term_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferrerAccess(Base):
    __tablename__ = "referrer_access"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class GrantScope(enum.StrEnum):
    CALL = "call"


class Grant(Base):
    """Access to one thing (a call), not to the centre: what an interpreter may open. An
    account's role says who they are; a grant says what, scoped, they may reach."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "scope_kind", "scope_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    scope_kind: Mapped[GrantScope] = mapped_column(_enum(GrantScope, "grant_scope"))
    scope_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranslatorAssignment(Base):
    """A translator's access to one family, not to the centre: they moderate that family's
    items and nothing else. Written and removed by an admin from the family's page
    (``translator_assigned``/``translator_removed`` in the family record); deleting the row
    revokes at once, since the access layer reads it on every request."""

    __tablename__ = "translator_assignments"
    __table_args__ = (UniqueConstraint("user_id", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    assigned_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- keys and stored objects ---------------------------------------------------------


class FamilyKey(Base):
    """The family's data key, wrapped (RFC 5649) under the master key named by key id.

    Crypto-shredding deletes ``wrapped_key`` and sets ``shredded_at``: every object of the
    family becomes unreadable while the record still verifies.
    """

    __tablename__ = "family_keys"

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]
    shredded_at: Mapped[datetime | None]


class CentreKey(Base):
    """Centre-wide keys, e.g. the Ed25519 record-signing key, private half sealed."""

    __tablename__ = "centre_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredObject(Base):
    """One encrypted object in the object store. The row is written in the same transaction
    as whatever refers to it; an object without a row is an orphan the reconciler removes."""

    __tablename__ = "stored_objects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    role: Mapped[ObjectRole] = mapped_column(_enum(ObjectRole, "object_role"))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    wrapped_data_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the letterbox -------------------------------------------------------------------


class Item(Base):
    """A letter, reply or digital gift, in either direction, with its moderation state."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("sender_id", "idempotency_key", name="uq_items_idempotency"),
        Index("ix_items_family_status", "family_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind, "item_kind"))
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"))
    status: Mapped[ItemStatus] = mapped_column(_enum(ItemStatus, "item_status"))
    # Optimistic concurrency: two moderators deciding at once, exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    # What the parent sees when an item is returned; sealed under the family key.
    return_message_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # A returned item changed and sent again: the new item names the one it replaces.
    replaces_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"), index=True)
    # Set while a safeguarding concern holds the item back: no moderator may decide on it.
    withheld_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is

    parts: Mapped[list[ItemPart]] = relationship(
        back_populates="item", lazy="raise_on_sql", order_by="ItemPart.position"
    )


class ParentDraft(Base):
    """The letter a parent is writing, saved as they type: one per parent per family, its
    words sealed with the family key like any content. Sending it deletes it."""

    __tablename__ = "parent_drafts"
    __table_args__ = (UniqueConstraint("family_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    replaces_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemPart(Base):
    """One piece of an item: its text, a photo, or one document's page images."""

    __tablename__ = "item_parts"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PartKind] = mapped_column(_enum(PartKind, "part_kind"))
    original_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stored_objects.id"))
    sanitised_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stored_objects.id"))
    delivered_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stored_objects.id"))
    media_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    page_count: Mapped[int | None] = mapped_column(Integer)
    # Plain-language notes like "GPS position", shown to moderators.
    removed_metadata: Mapped[list[Any]] = mapped_column(default=list)
    # Scanner hits as [{"start", "end", "category"}]; offsets only, never the matched text.
    # A text part's offsets are into its text; an image's or a page's into read_text_sealed.
    scan_hits: Mapped[list[Any]] = mapped_column(default=list)
    # The words read from an image or page (OCR), sealed with the family key: for
    # moderators only, never delivered.
    read_text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The language a text part seems to be in (service.letterbox.language), as its code,
    # sealed with the family key: it says something about the sender, and goes with a shred.
    # None when the detector could not tell.
    language_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    item: Mapped[Item] = relationship(back_populates="parts", lazy="raise_on_sql")


class ModerationDecision(Base):
    __tablename__ = "moderation_decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    moderator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "decision"))
    # Redactions as {"text": [[start, end]…], "images": {part_id: [[x, y, w, h]…]}}; an
    # approval adds "flags": {flag: "black_out" | "safe"}, how it resolved each scanner hit.
    redactions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Return message or rejection reason; for an approval, the sealed JSON {flag: reason} of
    # the flags passed as safe.
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemClaim(Base):
    """A moderator reviewing an item holds it for a while, so two never work on it at once
    without knowing. One row per claim, kept: a take-over names whom it was taken from."""

    __tablename__ = "item_claims"
    __table_args__ = (Index("ix_item_claims_item_current", "item_id", "released_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"))
    moderator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    taken_over_from: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class ModerationTarget(Base):
    """How long an item may wait for moderation before it shows as late and staff are
    e-mailed: per centre, set by an admin. Its own table so the centres table stays as is."""

    __tablename__ = "moderation_targets"

    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), primary_key=True)
    working_days: Mapped[int] = mapped_column(Integer, default=2)
    # The last time staff were told items are late: the job tells them once a day at most.
    late_notice_sent_at: Mapped[datetime | None]


class OpeningSession(Base):
    """A staff member opens approved items with a child on a centre device."""

    __tablename__ = "opening_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    device_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class ItemOpening(Base):
    __tablename__ = "item_openings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("opening_sessions.id"), index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class ObservationNote(Base):
    """Supervised contact only. The composite foreign key carries the family's contact
    level, and the check refuses anything but "supervised": a supported family cannot hold
    a note even if a bug in the app tried, and a family with notes cannot silently become
    supported."""

    __tablename__ = "observation_notes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["family_id", "contact_level"],
            ["families.id", "families.contact_level"],
            name="fk_observation_notes_family_level",
        ),
        CheckConstraint("contact_level = 'supervised'", name="supervised_only"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    contact_level: Mapped[ContactLevel] = mapped_column(_enum(ContactLevel, "note_contact_level"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    opening_session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("opening_sessions.id"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id"))
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhysicalGift(Base):
    __tablename__ = "physical_gifts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    from_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    photo_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stored_objects.id"))
    status: Mapped[GiftStatus] = mapped_column(_enum(GiftStatus, "gift_status"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]
    checked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    handed_over_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


# --- calls ---------------------------------------------------------------------------


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window_order"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"))
    supervisor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    scheduled_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    status: Mapped[CallStatus] = mapped_column(
        _enum(CallStatus, "call_status"), default=CallStatus.SCHEDULED
    )
    # Calls are pinned to one media node; the proxy routes signalling there.
    media_node: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    # When the end-of-window warning went out: set once, so a node restart never repeats it.
    warning_sent_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


class CallDevice(Base):
    """A centre device locked to one call's child screen: it reaches nothing else until a
    staff member's password is given (like an opening session's device)."""

    __tablename__ = "call_devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # Only the hash of the device cookie's token; cleared when the device is released.
    device_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]


# --- the family record ---------------------------------------------------------------


class RecordEvent(Base):
    """One contact event in the tamper-evident family record.

    ``seq`` is global and gap-free (allocated under the ``record_heads`` row lock);
    ``family_seq`` and ``prev_hash`` chain the family's own events. The payload is canonical
    JSON that never holds content in the clear: personal data inside it is sealed under the
    family key, so shredding erases it while the hashes still verify.
    """

    __tablename__ = "record_events"
    __table_args__ = (UniqueConstraint("family_id", "family_seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    family_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    event_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class RecordHead(Base):
    """Serialises appends: one row per scope ("global" and one per family). Appending
    locks the rows, so sequence numbers stay gap-free across processes and nodes."""

    __tablename__ = "record_heads"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class RecordCheckpoint(Base):
    """A signed statement of the record's state at a moment (see docs/record.md)."""

    __tablename__ = "record_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[bytes] = mapped_column(LargeBinary(32))
    made_at: Mapped[datetime]
    signed_note: Mapped[str] = mapped_column(Text)
    key_fingerprint: Mapped[str] = mapped_column(String(64))


class CallReminder(Base):
    """The day-before reminder of a call at one start time, claimed once: the job that
    inserts the row sends the e-mail, a second run (another node, a restart) finds the row
    and sends nothing. A call moved to a new time is a new key, so it is reminded again.
    Kept apart from ``calls`` so that sending it neither bumps the call's version (a staff
    edit would then be refused as stale) nor counts as a contact change."""

    __tablename__ = "call_reminders"

    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime]


class JobLease(Base):
    """Who runs a periodic job for the whole centre (storage.leases): every node tries, the
    one holding an unexpired lease runs it; a dead holder's lease lapses at ``expires_at``."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class CentreCheckpoint(Base):
    """One link of the centre-wide chain of checkpoints: every family's head, signed
    (``storage.recordformat.CentreCheckpoint``; docs/record.md). ``seq`` runs 1, 2, 3… and
    ``previous_hash`` is the SHA-256 of the previous row's ``body``."""

    __tablename__ = "centre_checkpoints"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    made_at: Mapped[datetime]
    events: Mapped[int] = mapped_column(BigInteger)
    previous_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[str] = mapped_column(Text)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    # RFC 3161 time-stamp token over SHA-256(body), when a time-stamp authority is configured.
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)


class IdempotentRequest(Base):
    """Remembers the result of a submission made with an Idempotency-Key header."""

    __tablename__ = "idempotent_requests"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- supervised contact reports (issue 20) -----------------------------------------------


class ReportStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # written, waiting for a second person's check
    RETURNED = "returned"  # the checker sent it back with comments
    APPROVED = "approved"  # sealed: its hash is in the record, it is part of the court export


class ContactReport(Base):
    """The structured report on one supervised call or session, checked by a second person.

    Supervised contact only, enforced like observation notes: the composite foreign key
    carries the family's level and the check refuses anything but "supervised". The checker
    can never be the author, and an approved report always names its checker and its hash.
    The report's fields are sealed JSON under the family key."""

    __tablename__ = "contact_reports"
    __table_args__ = (
        ForeignKeyConstraint(
            ["family_id", "contact_level"],
            ["families.id", "families.contact_level"],
            name="fk_contact_reports_family_level",
        ),
        CheckConstraint("contact_level = 'supervised'", name="supervised_only"),
        CheckConstraint("checker_id IS NULL OR checker_id <> author_id", name="second_person"),
        CheckConstraint(
            "status <> 'approved' OR (checker_id IS NOT NULL AND sha256 IS NOT NULL)",
            name="approved_is_checked",
        ),
        CheckConstraint(
            "call_id IS NOT NULL OR opening_session_id IS NOT NULL", name="about_a_contact"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    contact_level: Mapped[ContactLevel] = mapped_column(_enum(ContactLevel, "report_contact_level"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    opening_session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opening_sessions.id"), unique=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus, "report_status"))
    fields_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    comments_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    checker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


# --- safeguarding concerns (issue 20) ----------------------------------------------------


class ConcernStatus(enum.StrEnum):
    RAISED = "raised"  # the lead has been told (or is being told); not yet acknowledged
    ACKNOWLEDGED = "acknowledged"
    ACTIONED = "actioned"  # the lead recorded what was done


class SafeguardingConcern(Base):
    """A concern a member of staff raised about an item, a call or a session. What they saw
    and the action taken are sealed under the family key; the lead is told with no content."""

    __tablename__ = "safeguarding_concerns"
    __table_args__ = (
        CheckConstraint(
            "item_id IS NOT NULL OR call_id IS NOT NULL OR opening_session_id IS NOT NULL",
            name="about_a_contact",
        ),
        Index("ix_safeguarding_concerns_status", "status", "raised_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id"))
    opening_session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("opening_sessions.id"))
    raised_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ConcernStatus] = mapped_column(_enum(ConcernStatus, "concern_status"))
    what_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Plumbing, not contact changes: when the lead's e-mail went, when the admins were reminded.
    lead_told_at: Mapped[datetime | None]
    admins_reminded_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    action_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    action_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    action_at: Mapped[datetime | None]


# --- the contact plan (issue 20) ---------------------------------------------------------


class ContactPlan(Base):
    """What the order or agreement says about a family's contact. The dates the plan runs
    are columns (the overdue lists and reminders query them); everything else (the order's
    reference, each channel's frequency, dates to avoid, names to use and never to use) is
    sealed JSON under the family key."""

    __tablename__ = "contact_plans"
    __table_args__ = (
        CheckConstraint("review_on IS NULL OR review_on >= starts_on", name="review_after_start"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="end_after_start"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), primary_key=True)
    starts_on: Mapped[date]
    review_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    details_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


class PlanReminder(Base):
    """The reminder that a letter is due by ``due_on``, claimed once (like call reminders)."""

    __tablename__ = "plan_reminders"

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), primary_key=True)
    due_on: Mapped[date] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime]


# --- in-centre contact and handovers (issue 20) ------------------------------------------


class VisitKind(enum.StrEnum):
    SESSION = "session"  # supported or supervised contact at the centre
    HANDOVER = "handover"  # one adult drops the child off, the other collects; never meeting
    PRE_VISIT = "pre_visit"  # one party sees the centre before contact starts


class CentreVisit(Base):
    """An in-centre session, handover or pre-visit, with each person's arrival and departure.

    Supported contact records dates and times only, enforced as for observation notes: the
    composite foreign key carries the family's level, and the check refuses notes unless it
    is "supervised". A handover staggers the adults by ``stagger_minutes``: the resident
    parent is due at ``planned_at``, the visiting parent that many minutes later."""

    __tablename__ = "centre_visits"
    __table_args__ = (
        ForeignKeyConstraint(
            ["family_id", "contact_level"],
            ["families.id", "families.contact_level"],
            name="fk_centre_visits_family_level",
        ),
        CheckConstraint(
            "notes_sealed IS NULL OR contact_level = 'supervised'", name="notes_supervised_only"
        ),
        CheckConstraint("kind <> 'handover' OR stagger_minutes >= 5", name="handover_staggered"),
        CheckConstraint("kind <> 'pre_visit' OR party IS NOT NULL", name="pre_visit_party"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    contact_level: Mapped[ContactLevel] = mapped_column(_enum(ContactLevel, "visit_contact_level"))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind, "visit_kind"))
    party: Mapped[str | None] = mapped_column(String(32))  # pre-visits: resident, visiting, child
    planned_at: Mapped[datetime]
    stagger_minutes: Mapped[int] = mapped_column(Integer, default=0)
    resident_arrived_at: Mapped[datetime | None]
    resident_left_at: Mapped[datetime | None]
    visiting_arrived_at: Mapped[datetime | None]
    visiting_left_at: Mapped[datetime | None]
    child_arrived_at: Mapped[datetime | None]
    child_left_at: Mapped[datetime | None]
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- retention (issue 20) ----------------------------------------------------------------


class RetentionKind(enum.StrEnum):
    YOUNGEST_25 = "youngest_25"  # until the youngest child is 25
    YEARS_AFTER_CLOSURE = "years_after_closure"  # a set number of years after the case closed


class CentreRetention(Base):
    """The centre's default retention rule, set by an admin."""

    __tablename__ = "centre_retention"

    centre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("centres.id"), primary_key=True)
    kind: Mapped[RetentionKind] = mapped_column(_enum(RetentionKind, "retention_kind"))
    years: Mapped[int] = mapped_column(Integer, default=6)
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetentionRule(Base):
    """A family's own retention rule (else the centre's default) and its legal hold: while
    proceedings are ongoing nothing is shredded, whatever the dates say."""

    __tablename__ = "retention_rules"

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), primary_key=True)
    kind: Mapped[RetentionKind | None] = mapped_column(
        _enum(RetentionKind, "family_retention_kind")
    )
    years: Mapped[int | None] = mapped_column(Integer)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- subject access (issue 20) -----------------------------------------------------------


class SubjectAccessStatus(enum.StrEnum):
    IN_REVIEW = "in_review"  # gathered, other people's names blacked out, waiting for review
    RELEASED = "released"


class SubjectAccessRequest(Base):
    """What the centre holds about one person (a parent or a child), gathered when the
    request starts, sealed under the family key, reviewed, then released as a PDF and JSON.
    The law gives a month: ``due_on``."""

    __tablename__ = "subject_access_requests"
    __table_args__ = (
        CheckConstraint(
            "(subject_user_id IS NULL) <> (subject_child_id IS NULL)", name="one_subject"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), index=True)
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    subject_child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    status: Mapped[SubjectAccessStatus] = mapped_column(
        _enum(SubjectAccessStatus, "subject_access_status")
    )
    material_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    revealed: Mapped[list[Any]] = mapped_column(default=list)  # names the reviewer un-blacked
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]


class MediaNode(Base):
    """A running media node (one ``letterbox serve`` worker): where its calls' signalling is
    forwarded (``url``, the worker's internal address) and when it last said it was alive. A
    restart under the same name is a new ``incarnation``; a node that stops renewing
    ``seen_at`` is dead, and its live calls are ended (``media_node_lost``)."""

    __tablename__ = "media_nodes"

    node: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(200))
    incarnation: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class SenderSlot(Base):
    """One file of a sender being sanitised somewhere in the centre (any worker, any host):
    a sender may hold at most a few slots at once, so one sender's files cannot occupy every
    worker's sanitiser. A slot whose holder died lapses at ``expires_at``."""

    __tablename__ = "sender_slots"

    sender: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
