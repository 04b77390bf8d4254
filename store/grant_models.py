"""Tables that follow a grant after the decision: letters, quarters of documentation, payouts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models import Base


class DecisionLetter(Base):
    """The letter an applicant got for one version of the committee's decision.

    A changed decision makes a new row (a correction, pointing at the letter it
    corrects); ``decision``, ``amount`` and ``reason`` are what the letter said,
    so a decision changed and changed back needs no second letter.
    """

    __tablename__ = "decision_letter"
    __table_args__ = (UniqueConstraint("case_pk", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # Case.decision_version it was written for
    kind: Mapped[str] = mapped_column(String(32))  # store.words.LetterKind
    decision: Mapped[str] = mapped_column(String(32))
    amount: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    corrects_pk: Mapped[int | None] = mapped_column(ForeignKey("decision_letter.id"))
    outbox_pk: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    recipient: Mapped[str] = mapped_column(String(998))
    created_at: Mapped[dt.datetime]
    by: Mapped[str | None] = mapped_column(String(255))


class GrantQuarter(Base):
    """One quarter of a grant (the granted application): its documentation and whether it is approved.

    Made when documentation for the quarter arrives or when staff decide on it.
    ``amount`` is the quarter's payout, fixed when staff approve it.
    """

    __tablename__ = "grant_quarter"
    __table_args__ = (UniqueConstraint("case_pk", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(8))  # "2026Q1"
    state: Mapped[str] = mapped_column(String(16), index=True)  # store.words.QuarterState
    # the documentation case that collects the quarter's mail, if any came by mail
    documentation_pk: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    inferred: Mapped[bool] = mapped_column(Boolean, default=False)  # quarter taken from the arrival date
    received_at: Mapped[dt.datetime | None]  # the first documentation's arrival
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # why staff rejected it (the grantee is told)
    amount: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime]


class PayoutList(Base):
    """One payout list written for finance: a quarter's approved payments."""

    __tablename__ = "payout_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime]
    filename: Mapped[str | None] = mapped_column(Text)

    payouts: Mapped[list[Payout]] = relationship(back_populates="payout_list", order_by="Payout.id")


class Payout(Base):
    """A quarter on a payout list: each approved quarter is paid once."""

    __tablename__ = "payout"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_pk: Mapped[int] = mapped_column(ForeignKey("payout_list.id"), index=True)
    quarter_pk: Mapped[int] = mapped_column(ForeignKey("grant_quarter.id"), unique=True)
    amount: Mapped[str] = mapped_column(String(32))

    payout_list: Mapped[PayoutList] = relationship(back_populates="payouts")
