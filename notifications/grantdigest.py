"""The digest's part about answers and grants: applicants still without an answer (a warning
from ``answer_warning_days`` before ``answer_by``), decision letters not released yet, and each
quarter's documentation: waiting for approval, due, and missing.

A quarter is *due* once it has ended and until ``reminder_days`` after its end
(the documentation may still come on time); after that it is *missing*.
Every list is bounded like the rest of the digest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsers.danish import date_da, timestamp_da
from parsers.quarters import Quarter
from store import casedata as cd
from store import caserows, grants
from store.models import Case
from store.words import CaseStatus, MailKind, QuarterState

MAX_ROWS = 10


@runtime_checkable
class GrantCalendar(Protocol):
    """What the grant part needs of the pool (``intake.pool.Pool`` has it)."""

    @property
    def quarters(self) -> tuple[Quarter, ...]:
        """The grant period's quarters."""

    @property
    def documentation_reminder_days(self) -> int:
        """Days after a quarter's end that its documentation is on time."""

    @property
    def answer_warning_days(self) -> int:
        """Days before ``answer_by`` from which unanswered applicants are a warning."""


@dataclass(frozen=True)
class QuarterRow:
    """One quarter of one grant, as a line of the digest."""

    case_id: str
    organisation: str
    quarter: str  # "1. kvartal 2026"
    note: str  # when it came, or since when it is due
    link: str


@dataclass
class QuarterList:
    """The first quarters of one kind and how many there are."""

    rows: list[QuarterRow] = field(default_factory=list)
    count: int = 0

    @property
    def more(self) -> int:
        """Quarters not listed."""
        return self.count - len(self.rows)

    def add(self, row: QuarterRow) -> None:
        """Count a quarter; list it while there is room."""
        self.count += 1
        if len(self.rows) < MAX_ROWS:
            self.rows.append(row)


@dataclass
class GrantPart:
    """Answers and grants, formatted for staff."""

    applications: int = 0
    unanswered: int = 0
    answer_by: str = ""
    answer_when: str = ""
    warn: bool = False  # within the warning days before answer_by, or after it
    letters_waiting: int = 0
    waiting: QuarterList = field(default_factory=QuarterList)
    due: QuarterList = field(default_factory=QuarterList)
    missing: QuarterList = field(default_factory=QuarterList)
    grants: int = 0


def _days(days: int) -> str:
    if days < 0:
        return f"for {-days} dage siden" if days < -1 else "i går"
    return {0: "i dag", 1: "i morgen"}.get(days, f"om {days} dage")


def collect(session: Session, pool: GrantCalendar, answer_by: dt.date | None, tz: dt.tzinfo,
            now: dt.datetime, web_url: str = "") -> GrantPart:
    """Read the grant part of the digest."""
    today = now.astimezone(tz).date()
    part = GrantPart()
    # two columns of each application: objects of 10,000 cases took seconds
    applications = session.execute(select(Case.id, Case.status).where(Case.kind == MailKind.APPLICATION)).all()
    part.applications = len(applications)
    # one query per table, whatever the number of cases (grants.answered asks the same per case)
    by_letter = grants.answered_by_letter(session)
    part.unanswered = sum(1 for c in applications if c.status != CaseStatus.LATE and c.id not in by_letter)
    if answer_by is not None:
        left = (answer_by - today).days
        part.answer_by, part.answer_when = date_da(answer_by), _days(left)
        part.warn = part.unanswered > 0 and left <= pool.answer_warning_days
    letters = grants.letters_by_case(session)
    part.letters_waiting = sum(1 for case in grants.decided(session)
                               if grants.letter_due(session, case, letters.get(case.id, [])))
    link = web_url.rstrip("/")
    quarters = grants.quarters_by_grant(session)
    # as grants.granted, as rows: the form (the organisation when the case row has none) read in one query
    granted = caserows.case_rows(session, caserows.case_query(MailKind.APPLICATION, CaseStatus.GRANTED),
                                 json_columns=("fields",))
    for grant in granted:
        part.grants += 1
        rows = {q.quarter: (q, doc_id) for q, doc_id in quarters.get(grant.id, [])}
        org = cd.org_name(grant) or "(ukendt organisation)"
        for quarter in pool.quarters:
            q, doc_id = rows.get(quarter.id, (None, None))
            where = f"{link}/sager/{grant.case_id}" if link else ""
            if q is not None and q.state == QuarterState.RECEIVED:
                inferred = ", kvartal udledt af datoen" if q.inferred else ""
                where = f"{link}/sager/{doc_id}" if link and doc_id is not None else where
                part.waiting.add(QuarterRow(grant.case_id, org, quarter.label,
                                            f"modtaget {timestamp_da(q.received_at, tz)}{inferred}", where))
            elif q is None and quarter.end < today:
                due = quarter.end + dt.timedelta(days=pool.documentation_reminder_days)
                target = part.due if today <= due else part.missing
                target.add(QuarterRow(grant.case_id, org, quarter.label, f"frist {date_da(due)}", where))
    return part

