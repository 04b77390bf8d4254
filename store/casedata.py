"""Reading a case and its submissions: the one place that knows how they are stored.

The digest, the exports, the decisions import, receipts and reminders all read
through here. The extracted values follow ``docs/contracts.md``:
``Submission.fields`` maps a form key to ``{"value", "raw", "source"}``; the
case row carries the organisation, CVR and municipality when extraction has
set them. The ``submission_*`` functions take a submission that may be None
(a case without one, or a receipt for mail that made none). The helpers take a
``Case`` or a list's plain row (``store.caserows``, how lists of thousands read them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Attachment, Case, RawMessage, Submission


class SubmissionLike(Protocol):
    """What the helpers read of a submission: a ``Submission``, or a list's
    ``store.caserows.SubmissionRow``."""

    @property
    def current(self) -> bool:
        """Whether it counts now."""

    @property
    def fields(self) -> dict[str, Any]:
        """The stored form fields."""

    @property
    def budget(self) -> dict[str, Any]:
        """The stored budget."""

    @property
    def problems(self) -> list[Any]:
        """The stored problems."""


class CaseLike(Protocol):
    """What the helpers read of a case: a ``Case``, or a list's ``store.caserows.CaseRow``."""

    @property
    def id(self) -> int:
        """Its primary key."""

    @property
    def org_name(self) -> str | None:
        """The organisation, when extraction set it."""

    @property
    def cvr(self) -> str | None:
        """The CVR number, when extraction set it."""

    @property
    def municipality(self) -> str | None:
        """The municipality, when extraction set it."""

    @property
    def submissions(self) -> Sequence[SubmissionLike]:
        """Its submissions, oldest first (a list's row: the current one only)."""


_Sub = TypeVar("_Sub", bound=SubmissionLike)


def _counting_now(subs: Sequence[_Sub]) -> _Sub | None:
    """The newest current submission, else the newest (oldest first in ``subs``)."""
    for sub in reversed(subs):
        if sub.current:
            return sub
    return subs[-1] if subs else None


def current_submission(case: Case) -> Submission | None:
    """The submission that counts now: the newest current one, else the newest."""
    return _counting_now(list(case.submissions))


def current_of(case: CaseLike) -> SubmissionLike | None:
    """:func:`current_submission` of a case or a list's row (the same choice)."""
    return _counting_now(list(case.submissions))


def value_of(entry: Any) -> Any:
    """The normalised value of one stored form field (``{"value", ...}``, or a bare value)."""
    return entry.get("value") if isinstance(entry, dict) else entry


def submission_fields(sub: SubmissionLike | None) -> dict[str, Any]:
    """The stored form fields of a submission (``{}`` when there is none)."""
    return dict(sub.fields or {}) if sub is not None else {}


def submission_problems(sub: SubmissionLike | None) -> list[dict[str, Any]]:
    """The problems of a submission (``{code, field, message, severity}``), ``[]`` when none."""
    return list(sub.problems or []) if sub is not None else []


def submission_budget(sub: SubmissionLike | None) -> dict[str, Any]:
    """The budget of a submission (``{}`` when there is none)."""
    return dict(sub.budget or {}) if sub is not None else {}


def problem_message(problem: dict[str, Any]) -> str:
    """The Danish sentence of a problem, else its code."""
    return str(problem.get("message") or problem.get("code") or "")


def field_value(case: CaseLike, key: str) -> Any:
    """The normalised value of a form field of the current submission, or None."""
    return value_of(submission_fields(current_of(case)).get(key))


def org_name(case: CaseLike) -> str | None:
    """The organisation's name: the case row first, else the form."""
    return case.org_name or field_value(case, "org_name")


def cvr(case: CaseLike) -> str | None:
    """The CVR number: the case row first, else the form."""
    return case.cvr or field_value(case, "cvr")


def municipality(case: CaseLike) -> str | None:
    """The municipality: the case row first, else the form."""
    return case.municipality or field_value(case, "municipality")


def problems(case: CaseLike) -> list[dict[str, Any]]:
    """The problems of the current submission (``{code, field, message, severity}``)."""
    return submission_problems(current_of(case))


def budget(case: CaseLike) -> dict[str, Any]:
    """The budget of the current submission (``{}`` when there is none)."""
    return submission_budget(current_of(case))


def message_ids(session: Session, case: CaseLike) -> list[str]:
    """The Message-IDs of the mail that belongs to a case, oldest first."""
    return [m for m in session.scalars(
        select(RawMessage.message_id).where(RawMessage.case_pk == case.id)
        .order_by(RawMessage.internaldate, RawMessage.id)
    ) if m]


def message_ids_by_case(session: Session) -> dict[int, list[str]]:
    """The Message-IDs of every case's mail (case pk → ids, oldest first), in one query.

    Never loads a message's bytes.
    """
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(RawMessage.case_pk, RawMessage.message_id).where(RawMessage.case_pk.is_not(None))
        .order_by(RawMessage.internaldate, RawMessage.id))
    for case_pk, mid in rows:
        if mid and case_pk is not None:
            out.setdefault(case_pk, []).append(mid)
    return out


@dataclass(frozen=True)
class CaseLine:
    """A case as one line of a list: its own columns and its current submission's counts."""

    case: Any  # the case's columns (a row: ``case_id``, ``kind``, ``status``, ``received_at``, ...)
    files: int
    problems: int


def case_lines(session: Session, kind: str | None = None, status: str | None = None) -> list[CaseLine]:
    """Every case (of one kind, in one status) with the number of files and problems of its
    current submission, in case order: three queries of plain columns, no objects and no
    form values, so 10,000 cases take a fraction of a second (bench/RESULTS.md)."""
    q = select(Case.id, Case.case_id, Case.kind, Case.status, Case.received_at, Case.sender,
               Case.sender_auth, Case.org_name).order_by(Case.id)
    subs = select(Submission.case_pk, Submission.id, Submission.current, Submission.problems).order_by(Submission.id)
    if kind:
        q, subs = q.where(Case.kind == kind), subs.join(Case, Case.id == Submission.case_pk).where(Case.kind == kind)
    if status:
        q = q.where(Case.status == status)
    cases = session.execute(q).all()
    if not cases:
        return []
    chosen: dict[int, tuple[int, bool, list[Any] | None]] = {}
    for case_pk, pk, current, problems in session.execute(subs):
        # as current_submission: the newest current one, else the newest
        if current or not (chosen.get(case_pk) or (0, False, None))[1]:
            chosen[case_pk] = (pk, bool(current), problems)
    files: dict[int, int] = {pk: n for pk, n in session.execute(
        select(Attachment.submission_pk, func.count()).group_by(Attachment.submission_pk))}
    out = []
    for c in cases:
        pk, _, problems = chosen.get(c.id, (0, False, None))
        out.append(CaseLine(c, files.get(pk, 0) if pk else 0, len(problems or []) if pk else 0))
    return out
