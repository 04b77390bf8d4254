"""Database tables: raw mail, where it was found, cases, their submissions, the outbox.

The schema serves the whole flow (DESIGN.md): a raw message is stored once by
sha256 and moves ``stored → processed`` or ``failed → quarantined``; a case has
one or more submissions (history kept when a resubmission supersedes one); the
outbox holds every mail we will send, unique per (subject of it, purpose).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.words import MessageState

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC; SQLite loses the zone, so we put it back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """UTC for the database; naive in SQLite, which keeps no zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """An aware UTC datetime, whatever the database gave back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class RawMessage(Base):
    """The exact bytes of one mail, stored once, and what became of it."""

    __tablename__ = "raw_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(64), index=True)
    internaldate: Mapped[dt.datetime]
    stored_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16), default=MessageState.STORED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # what routing decided: case | followup | triage | ignored
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(998))
    processed_at: Mapped[dt.datetime | None]
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    # where a person sent this mail (``{"kind"|"case_id", "parent", "by", "at"}``): processing
    # and reprocessing follow it instead of routing by the subject
    staff_route: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # when a person looked at it while quarantined (``quarantine show``); None: nobody yet
    quarantine_seen_at: Mapped[dt.datetime | None]
    # a worker's claim while it processes the message (``repository.claim_message``): until when,
    # and the worker's token; a crashed worker's claim expires, the attempt it counted stays
    claimed_until: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))

    locations: Mapped[list[MessageLocation]] = relationship(back_populates="message")
    case: Mapped[Case | None] = relationship(back_populates="messages")


class MessageLocation(Base):
    """Where a raw message was found: (account, folder, UIDVALIDITY, UID)."""

    __tablename__ = "message_location"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("raw_message.id"), index=True)
    account: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[str] = mapped_column(String(255))
    seen_at: Mapped[dt.datetime]
    acked_at: Mapped[dt.datetime | None]

    message: Mapped[RawMessage] = relationship(back_populates="locations")


class FolderState(Base):
    """Per (account, folder): the UIDVALIDITY we know and the highest UID stored."""

    __tablename__ = "folder_state"

    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime]


class FetchStatus(Base):
    """Per (account, folder): when the last fetch succeeded and the last error, for ``status``."""

    __tablename__ = "fetch_status"

    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    last_success_at: Mapped[dt.datetime | None]
    last_error_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # the first error after the last success; None while fetching works
    failing_since: Mapped[dt.datetime | None]


class CaseSequence(Base):
    """The last number handed out per case-id prefix (``PSV-2025``)."""

    __tablename__ = "case_sequence"

    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """One application or report as staff see it; its submissions keep the history."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), unique=True)
    pool: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    sender: Mapped[str | None] = mapped_column(String(998))
    sender_name: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    org_name: Mapped[str | None] = mapped_column(String(500))
    cvr: Mapped[str | None] = mapped_column(String(8), index=True)
    municipality: Mapped[str | None] = mapped_column(String(100))
    # the application a report belongs to
    parent_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    decision: Mapped[str | None] = mapped_column(String(32))
    granted_amount: Mapped[str | None] = mapped_column(String(32))
    # the committee's short reason for a rejection, if it gave one
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # counts every change of the decision (0: none yet); a decision letter is for one version
    decision_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    receipts_suppressed: Mapped[str | None] = mapped_column(Text)
    # what the inbox's own mail server said about the sender (store/words.py SenderAuth)
    sender_auth: Mapped[str | None] = mapped_column(String(32))

    submissions: Mapped[list[Submission]] = relationship(
        back_populates="case", order_by="Submission.id"
    )
    messages: Mapped[list[RawMessage]] = relationship(back_populates="case")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class Submission(Base):
    """What one mail brought to a case: attachments, extracted values, problems."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("raw_message.id"), unique=True)
    received_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(32))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    budget: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime]

    case: Mapped[Case] = relationship(back_populates="submissions")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.position"
    )


class Attachment(Base):
    """An attachment of a submission: name, size, hash, and its type by content."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_pk: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(1000))
    declared_type: Mapped[str | None] = mapped_column(String(255))
    detected_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # what the attachment is for the case (store.words.AttachmentRole)
    role: Mapped[str | None] = mapped_column(String(64))
    # for a report part (role "rapportdel"): the parts of the report it holds
    parts: Mapped[list[Any] | None] = mapped_column(JSON)

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class CaseEvent(Base):
    """Something that happened to a case, for its history."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("raw_message.id"))

    case: Mapped[Case] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A mail we will send, written in the transaction that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # unique per (message or case, purpose), e.g. "receipt:msg:12"
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    purpose: Mapped[str] = mapped_column(String(64))
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("raw_message.id"))
    recipient: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # pending | sent | failed | suppressed
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class JobState(Base):
    """State of a time-driven job (last digest, last reminder run), kept across restarts."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[dt.datetime | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The staff and grant tables live in their own modules; importing them here puts
# them in Base.metadata for Alembic, ``db copy`` and the schema check.
from store import grant_models, staff_models  # noqa: E402,F401  (at the end: they build on Base)
