"""Reading a case the way staff views need it: its current submission and its values.

The extracted values follow ``docs/contracts.md``: ``Submission.fields`` maps a
form key to ``{"value", "raw", "source"}``; the case row carries the
organisation, CVR and municipality when extraction has set them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Case, RawMessage, Submission


def current_submission(case: Case) -> Submission | None:
    """The submission that counts now: the newest current one, else the newest."""
    subs = list(case.submissions)
    for sub in reversed(subs):
        if sub.current:
            return sub
    return subs[-1] if subs else None


def field_value(case: Case, key: str) -> Any:
    """The normalised value of a form field of the current submission, or None."""
    sub = current_submission(case)
    entry = (sub.fields or {}).get(key) if sub is not None else None
    if isinstance(entry, dict):
        return entry.get("value")
    return entry


def org_name(case: Case) -> str | None:
    """The organisation's name: the case row first, else the form."""
    return case.org_name or field_value(case, "org_name")


def cvr(case: Case) -> str | None:
    """The CVR number: the case row first, else the form."""
    return case.cvr or field_value(case, "cvr")


def municipality(case: Case) -> str | None:
    """The municipality: the case row first, else the form."""
    return case.municipality or field_value(case, "municipality")


def problems(case: Case) -> list[dict[str, Any]]:
    """The problems of the current submission (``{code, field, message, severity}``)."""
    sub = current_submission(case)
    return list(sub.problems or []) if sub is not None else []


def budget(case: Case) -> dict[str, Any]:
    """The budget of the current submission (``{}`` when there is none)."""
    sub = current_submission(case)
    return dict(sub.budget or {}) if sub is not None else {}


def all_cases(session: Session, kind: str | None = None) -> list[Case]:
    """Every case (of one kind), in the order their ids were handed out."""
    q = select(Case).order_by(Case.id)
    if kind:
        q = q.where(Case.kind == kind)
    return list(session.scalars(q))


def message_ids(session: Session, case: Case) -> list[str]:
    """The Message-IDs of the mail that belongs to a case, oldest first."""
    return [m for m in session.scalars(
        select(RawMessage.message_id).where(RawMessage.case_pk == case.id)
        .order_by(RawMessage.internaldate, RawMessage.id)
    ) if m]
