"""What needs a person: read from the state of mail, submissions and the outbox.

Nothing is copied into a queue of its own. An item is open while its cause
holds and no :class:`~store.staff_models.WorkResolution` closes its key:

* ``msg:<id>`` — mail routing could not place (triage), an applicant's reply
  that made no submission (a question, a correction in the text), or mail
  quarantined after repeated failures;
* ``sub:<id>`` — a current submission of an undecided case (not late) with warnings
  (values read from a print or an OCR layer, a ticked box in a print, ...);
* ``outbox:<id>`` — a mail to an applicant that failed or was held back.

So reprocessing, a resubmission or a released quarantine closes an item by
itself, and a resolved item stays resolved when the same mail is read again.
Lists never load a message's bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import Case, CaseEvent, OutboxMessage, RawMessage, Submission
from store.staff_models import WorkResolution
from store.words import (
    DECIDED,
    CaseEventKind,
    CaseStatus,
    MessageState,
    OutboxPurpose,
    OutboxState,
    Outcome,
    Resolution,
    Severity,
    WorkKind,
)

#: The order kinds are shown in ("I dag" and the digest).
KIND_ORDER = (WorkKind.TRIAGE, WorkKind.REPLY, WorkKind.REVIEW, WorkKind.QUARANTINE, WorkKind.UNSENT)

#: What a person may do with each kind of item.
ALLOWED: dict[WorkKind, tuple[Resolution, ...]] = {
    WorkKind.TRIAGE: (Resolution.JOINED, Resolution.NEW_CASE, Resolution.ANSWERED, Resolution.DISMISSED),
    WorkKind.REPLY: (Resolution.ANSWERED, Resolution.JOINED, Resolution.DISMISSED),
    WorkKind.QUARANTINE: (Resolution.JOINED, Resolution.NEW_CASE, Resolution.ANSWERED, Resolution.DISMISSED),
    WorkKind.REVIEW: (Resolution.CHECKED, Resolution.DISMISSED),
    WorkKind.UNSENT: (Resolution.ANSWERED, Resolution.DISMISSED),
}


@cache
def words_da() -> dict[str, Any]:
    """Danish names of the kinds, resolutions and history events (``config/work.da.toml``)."""
    return tomllib.loads(resources.files("config").joinpath("work.da.toml").read_text("utf-8"))


def no_mail_reason_da(reason: str) -> str:
    """Why intake sent no automatic mail, in Danish for staff (``[[no_receipt]]`` of ``config/work.da.toml``).

    ``reason`` is the English reason intake records; one no entry matches is still
    shown, marked as untranslated, never dropped.
    """
    reason = reason.strip()
    for entry in words_da().get("no_receipt", []):
        found = re.search(entry["match"], reason)
        if found:
            return str(entry["text"]).format(None, *found.groups())
    return f"(årsag på engelsk) {reason}"


def outbox_purpose_da(purpose: str) -> str:
    """Why we sent a mail, in Danish (``[outbox_purposes]``); a reminder's own suffix is dropped."""
    names: dict[str, str] = words_da().get("outbox_purposes", {})
    known = [k for k in names if purpose == k or purpose.startswith(k + "-")]
    return names[max(known, key=len)] if known else purpose


def no_receipt_da(recorded: str | None) -> str | None:
    """``Case.receipts_suppressed`` ("no receipt: <reason>") as staff read it on the case page."""
    if not recorded:
        return None
    return "Ingen kvittering: " + no_mail_reason_da(recorded.removeprefix("no receipt: "))


class AlreadyResolved(Exception):
    """Someone resolved this item already (another tab, another person)."""


@dataclass(frozen=True)
class WorkItem:
    """One thing that needs a person, with what staff need to recognise it."""

    key: str
    kind: WorkKind
    since: dt.datetime  # when it happened: arrival of the mail, of the submission, the mail we made
    title: str  # the mail's subject, or the case and organisation
    who: str  # the sender, or the recipient of a mail we could not send
    why: str  # routing's reason, the warnings, the last error
    case_id: str | None = None
    message_pk: int | None = None
    submission_pk: int | None = None
    outbox_pk: int | None = None


@dataclass
class WorkList:
    """Open items, oldest first, with the count of every kind (counted before any limit)."""

    items: list[WorkItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """All open items."""
        return sum(self.counts.values())

    def of_kind(self, kind: WorkKind) -> list[WorkItem]:
        """The listed items of one kind, oldest first."""
        return [i for i in self.items if i.kind == kind]


def message_key(pk: int) -> str:
    """The work key of a stored mail."""
    return f"msg:{pk}"


def _no_submission() -> ColumnElement[bool]:
    return ~exists().where(Submission.message_pk == RawMessage.id)


def _message_items(session: Session) -> list[WorkItem]:
    rows = session.execute(
        select(RawMessage.id, RawMessage.state, RawMessage.outcome, RawMessage.internaldate,
               RawMessage.subject, RawMessage.sender, RawMessage.reason, RawMessage.last_error,
               Case.case_id)
        .outerjoin(Case, Case.id == RawMessage.case_pk)
        .where(
            ((RawMessage.state == MessageState.PROCESSED) & (RawMessage.outcome == Outcome.TRIAGE))
            | (RawMessage.state == MessageState.QUARANTINED)
            | ((RawMessage.state == MessageState.PROCESSED) & (RawMessage.outcome == Outcome.FOLLOWUP)
               & _no_submission())
        )
    ).all()
    items = []
    for pk, state, outcome, at, subject, sender, reason, error, case_id in rows:
        if state == MessageState.QUARANTINED:
            kind, why = WorkKind.QUARANTINE, error or reason or ""
        elif outcome == Outcome.TRIAGE:
            kind, why = WorkKind.TRIAGE, reason or ""
        else:
            kind, why = WorkKind.REPLY, reason or ""
        items.append(WorkItem(key=message_key(pk), kind=kind, since=at, title=subject or "",
                              who=sender or "", why=why, case_id=case_id, message_pk=pk))
    return items


def review_warnings(problems: list[Any] | None) -> list[dict[str, Any]]:
    """The problems of a submission that ask a person to look (warnings)."""
    return [p for p in problems or [] if isinstance(p, dict) and p.get("severity") == Severity.WARNING]


def _review_items(session: Session) -> list[WorkItem]:
    rows = session.execute(
        select(Submission.id, Submission.received_at, Submission.problems, Submission.message_pk,
               Case.case_id, Case.org_name, Case.sender)
        .join(Case, Case.id == Submission.case_pk)
        .where(Submission.current.is_(True), Case.status.not_in([*DECIDED, CaseStatus.LATE]))
    ).all()
    items = []
    for pk, at, problems, message_pk, case_id, org, sender in rows:
        warnings = review_warnings(problems)
        if warnings:
            why = " ".join(str(p.get("message") or p.get("code")) for p in warnings)
            items.append(WorkItem(key=f"sub:{pk}", kind=WorkKind.REVIEW, since=at,
                                  title=f"{case_id} {org or ''}".strip(), who=sender or "", why=why,
                                  case_id=case_id, message_pk=message_pk, submission_pk=pk))
    return items


def _unsent_items(session: Session) -> list[WorkItem]:
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.subject,
               OutboxMessage.recipient, OutboxMessage.last_error, OutboxMessage.state,
               OutboxMessage.message_pk, Case.case_id)
        .outerjoin(Case, Case.id == OutboxMessage.case_pk)
        .where(OutboxMessage.state.in_([OutboxState.FAILED, OutboxState.SUPPRESSED, OutboxState.HELD]),
               OutboxMessage.purpose != OutboxPurpose.DIGEST)
    ).all()
    return [WorkItem(key=f"outbox:{pk}", kind=WorkKind.UNSENT, since=at, title=subject or "",
                     who=recipient, why=f"{state}: {error or ''}".strip(": "), case_id=case_id,
                     message_pk=message_pk, outbox_pk=pk)
            for pk, at, subject, recipient, error, state, message_pk, case_id in rows]


def open_items(session: Session, per_kind: int | None = None) -> WorkList:
    """Everything open, oldest first; with ``per_kind`` only that many of each kind are listed."""
    resolved = set(session.scalars(select(WorkResolution.key)))
    items = [i for i in (*_message_items(session), *_review_items(session), *_unsent_items(session))
             if i.key not in resolved]
    items.sort(key=lambda i: (i.since, i.key))
    counts: Counter[str] = Counter(i.kind for i in items)
    if per_kind is not None:
        shown: Counter[str] = Counter()
        kept = []
        for item in items:
            if shown[item.kind] < per_kind:
                shown[item.kind] += 1
                kept.append(item)
        items = kept
    return WorkList(items=items, counts=counts)


def find_open(session: Session, key: str) -> WorkItem | None:
    """The open item with this key, or None (no such item, or resolved already)."""
    return next((i for i in open_items(session).items if i.key == key), None)


def resolution_of(session: Session, key: str) -> WorkResolution | None:
    """How the item with this key was resolved, if it was."""
    return session.scalar(select(WorkResolution).where(WorkResolution.key == key))


def resolve(session: Session, item: WorkItem, resolution: Resolution, by: str, now: dt.datetime,
            note: str | None = None, detail: str | None = None) -> WorkResolution:
    """Close an item: who, when and how, on the item and in its case's history.

    Raise :class:`AlreadyResolved` when it was closed meanwhile.
    """
    if resolution_of(session, item.key) is not None:
        raise AlreadyResolved(item.key)
    case = session.scalar(select(Case).where(Case.case_id == item.case_id)) if item.case_id else None
    row = WorkResolution(key=item.key, kind=item.kind, resolution=resolution, by=by, at=now,
                         note=(note or "").strip()[:4000] or None, case_pk=case.id if case else None)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise AlreadyResolved(item.key) from None
    if case is not None:
        words = words_da()
        text = detail or (f"{words['kind_one'].get(item.kind, item.kind)} "
                          f"{words['resolutions'].get(resolution, resolution)} af {by}")
        if row.note:
            text += f": {row.note}"
        session.add(CaseEvent(case=case, at=now, kind=CaseEventKind.RESOLVED, detail=text[:4000],
                              message_pk=item.message_pk))
    return row


def resolved_since(session: Session, since: dt.datetime | None) -> list[WorkResolution]:
    """Items resolved after ``since`` (all when None), oldest first."""
    q = select(WorkResolution).order_by(WorkResolution.at, WorkResolution.id)
    if since is not None:
        q = q.where(WorkResolution.at > since)
    return list(session.scalars(q))
