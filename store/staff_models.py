"""Tables of the staff side: accounts for the web page, login throttling, and how work was resolved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class WorkResolution(Base):
    """How a person dealt with one thing that needed them (``store.work``), and who and when.

    What needs a person is read from the state of mail, submissions and the
    outbox; this row is what closes one such item. ``key`` names the item:
    ``msg:<raw message id>`` (triage, reply, quarantine), ``sub:<submission id>``
    (values to review), ``outbox:<outbox id>`` (a mail that could not be sent).
    """

    __tablename__ = "work_resolution"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(Text)
    case_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)


class StaffUser(Base):
    """A staff account for the web page (the password as an argon2 hash, never the password)."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]


class LoginThrottle(Base):
    """Failed logins per user name (known or not), so a lock-out survives a restart."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
