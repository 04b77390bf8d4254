"""Cases as plain rows for the staff's lists: the digest, the exports and the web's case list.

At 10,000 cases, building ORM objects of every case, submission and attachment
took seconds (bench/RESULTS.md, "Staff's lists at 10,000 cases"). These rows are
read with a fixed number of plain column queries instead, and carry only what
the ``store.casedata`` helpers read of a case: its columns and its current
submission (the newest current one, else the newest, as
:func:`store.casedata.current_submission` chooses). A submission's JSON is read as
text and decoded only when a list uses it, so a digest that needs the form only
for a case without a municipality never decodes 10,000 forms.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, case, cast, func, or_, select
from sqlalchemy.orm import Session

from store.models import Attachment, Case, Submission


@dataclass(frozen=True)
class AttachmentRow:
    """What the JSON export tells of an attachment."""

    filename: str | None
    sha256: str
    detected_type: str


_MISSING: Any = object()


class SubmissionRow:
    """A submission's JSON columns, decoded on first use (``None`` stays ``None``, as the ORM gives it)."""

    __slots__ = ("id", "current", "_texts", "_values", "attachments")

    def __init__(self, pk: int, current: bool, texts: dict[str, str | None]) -> None:
        self.id, self.current, self._texts = pk, current, texts
        self._values: dict[str, Any] = {}
        self.attachments: list[AttachmentRow] = []

    def _json(self, name: str) -> Any:
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            text = self._texts[name]  # KeyError: the loader was not asked for this column
            value = self._values[name] = None if text is None else json.loads(text)
        return value

    @property
    def fields(self) -> dict[str, Any]:
        """The stored form fields (``Submission.fields``)."""
        return self._json("fields")  # type: ignore[no-any-return]

    @property
    def budget(self) -> dict[str, Any]:
        """The stored budget (``Submission.budget``)."""
        return self._json("budget")  # type: ignore[no-any-return]

    @property
    def problems(self) -> list[Any]:
        """The stored problems (``Submission.problems``)."""
        return self._json("problems")  # type: ignore[no-any-return]


class CaseRow:
    """A case's columns as attributes, as a ``Case`` has them, and its current submission
    (``submissions`` holds that one only, or none)."""

    id: int
    case_id: str
    kind: str
    status: str
    sender: str | None
    sender_name: str | None
    subject: str | None
    received_at: dt.datetime
    created_at: dt.datetime
    org_name: str | None
    cvr: str | None
    municipality: str | None
    decision: str | None
    granted_amount: str | None
    decision_reason: str | None
    sender_auth: str | None
    submissions: list[SubmissionRow]

    def __init__(self, columns: dict[str, Any], submission: SubmissionRow | None) -> None:
        self.__dict__.update(columns)
        self.submissions = [submission] if submission is not None else []


# what a list may read of a case: every column but the bookkeeping ones
CASE_COLUMNS: tuple[Any, ...] = (Case.id, Case.case_id, Case.kind, Case.status, Case.sender, Case.sender_name, Case.subject,
                Case.received_at, Case.created_at, Case.org_name, Case.cvr, Case.municipality, Case.decision,
                Case.granted_amount, Case.decision_reason, Case.sender_auth)
JSON_COLUMNS = ("fields", "budget", "problems")


def case_query(kind: str | None = None, status: str | None = None,
               columns: tuple[Any, ...] = CASE_COLUMNS) -> Select[Any]:
    """Every case's list columns (of one kind, in one status), in case order; ``columns``: fewer of
    them (a row then has only those; ``id`` must be one)."""
    q = select(*columns).order_by(Case.id)
    if kind:
        q = q.where(Case.kind == kind)
    if status:
        q = q.where(Case.status == status)
    return q


def form_needed() -> ColumnElement[bool]:
    """The cases whose organisation or municipality only the form has (``casedata.org_name``
    and ``municipality`` read the form when the case's column is empty)."""
    return or_(func.coalesce(Case.org_name, "") == "", func.coalesce(Case.municipality, "") == "")


def case_rows(session: Session, query: Select[Any] | None = None, *, json_columns: Sequence[str] = JSON_COLUMNS,
              files: bool = False, fields_when: ColumnElement[bool] | None = None) -> list[CaseRow]:
    """The cases ``query`` selects (default: every case; it selects :data:`CASE_COLUMNS`, see
    :func:`case_query`) with their current submission's ``json_columns`` and, with ``files``,
    its attachments in their order: three queries at most, whatever the number of cases.

    ``fields_when``: read the form only of the cases this selects (e.g. :func:`form_needed`);
    the others' ``fields`` raise ``KeyError`` when asked, never a wrong empty form."""
    query = case_query() if query is None else query
    cases = session.connection().execute(query).all()  # Core rows: the ORM's result layer costs here
    if not cases:
        return []
    chosen = _current_submissions(session, query, json_columns, fields_when)
    if files and chosen:
        by_pk = {sub.id: sub for sub in chosen.values()}
        ids = query.with_only_columns(Case.id).subquery()  # its order kept: it may carry a LIMIT
        atts = (select(Attachment.submission_pk, Attachment.filename, Attachment.sha256, Attachment.detected_type)
                .join(Submission, Submission.id == Attachment.submission_pk)
                .where(Submission.case_pk.in_(select(ids.c.id)))
                .order_by(Attachment.submission_pk, Attachment.position, Attachment.id))
        for sub_pk, filename, sha256, detected_type in session.connection().execute(atts):
            sub = by_pk.get(sub_pk)
            if sub is not None:
                sub.attachments.append(AttachmentRow(filename, sha256, detected_type))
    return [CaseRow(c._asdict(), chosen.get(c.id)) for c in cases]


def _current_submissions(session: Session, query: Select[Any], json_columns: Sequence[str],
                         fields_when: ColumnElement[bool] | None = None) -> dict[int, SubmissionRow]:
    """Case pk → its current submission, for the cases ``query`` selects (one query)."""
    texts = [cast(getattr(Submission, name), Text) for name in json_columns]  # text: decoded when used
    ids = query.with_only_columns(Case.id).subquery()  # its order kept: it may carry a LIMIT
    subs = (select(Submission.case_pk, Submission.id, Submission.current, *texts)
            .where(Submission.case_pk.in_(select(ids.c.id))).order_by(Submission.id))
    if fields_when is not None:  # the form, and whether it was read, of the cases that need it
        subs = subs.add_columns(case((fields_when, cast(Submission.fields, Text))), case((fields_when, 1), else_=0)) \
            .join(Case, Case.id == Submission.case_pk)
    chosen: dict[int, SubmissionRow] = {}
    for case_pk, pk, current, *values in session.connection().execute(subs):
        # as casedata.current_submission: the newest current one, else the newest
        had = chosen.get(case_pk)
        if current or had is None or not had.current:
            row = dict(zip(json_columns, values, strict=False))
            if fields_when is not None and values[-1]:
                row["fields"] = values[-2]
            chosen[case_pk] = SubmissionRow(pk, bool(current), row)
    return chosen


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a list of thousands of rows is built and written.

    Every decoded form adds containers, and the collector kept walking all of them as the
    list grew: a third of the JSON export's time at 10,000 cases. These rows hold no
    cycles; the collector runs again afterwards (unless someone else had it off already).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def count(session: Session, query: Select[Any]) -> int:
    """How many cases ``query`` selects (one query)."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
