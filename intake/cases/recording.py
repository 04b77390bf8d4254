"""Recording what a mail brings: a new case, a new submission of a case, or a follow-up.

Runs inside the transaction that records one message (``intake.cases.pipeline``);
the mail's reads come from ``ctx.reads`` (the child process), never from here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging

from sqlalchemy.orm import Session

from intake import routing
from intake.cases.context import AnswersUnfinished, CaseChange, Context, read_extract
from intake.cases.matching import (
    find_granted_application,
    find_open_report,
    find_undecided_application,
)
from intake.extraction import Extraction
from parsers.limits import DEFAULT
from parsers.mime import ParsedAttachment, ParsedMail
from store import locks
from store import repository as repo
from store.casedata import current_submission
from store.models import Attachment, Case, RawMessage, Submission
from store.words import (
    DECIDED,
    AttachmentRole,
    CaseEventKind,
    CaseStatus,
    MailKind,
    MessageState,
    Outcome,
)

log = logging.getLogger(__name__)


def _finish(msg: RawMessage, ctx: Context, outcome: str, reason: str) -> str:
    msg.state = MessageState.PROCESSED
    msg.outcome = outcome
    msg.reason = reason
    msg.processed_at = ctx.now()
    msg.last_error = None
    return outcome


def record(s: Session, ctx: Context, msg: RawMessage) -> str:
    """Parse, route, read and record one locked message; its outcome (the caller commits)."""
    limit = ctx.settings.processing.max_message_bytes
    if msg.size > limit:
        return _finish(msg, ctx, Outcome.TRIAGE, f"message is {msg.size} bytes, above the limit of {limit}")
    assert ctx.reads is not None  # the pipeline reads the mail in the child
    mail = ctx.reads.parse(msg.id, lambda: repo.load_raw(s, msg.id), ctx.settings.processing.sizes, own=True)
    msg.subject = mail.subject[:2000]
    msg.sender = mail.from_addr
    route = staff_route(msg)
    if route is None:
        tags = routing.case_tags(mail.subject, ctx.pool)
        refs = [*mail.in_reply_to, *mail.references]
        known = repo.cases_for_references(s, refs, tags)
        earlier = repo.unfinished_earlier(s, [r for r in refs if r not in known], msg)
        if earlier is not None:  # route it once the mail it answers has found its case
            raise AnswersUnfinished(earlier.id)
        route = routing.route(mail, ctx.pool, own_addresses=ctx.own_addresses, known=known)
    outcome: str = route.outcome
    reason = route.reason
    if route.outcome == Outcome.CASE:
        outcome, reason = _record_case(s, ctx, msg, mail, route)
    elif route.outcome == Outcome.FOLLOWUP:
        _record_followup(s, ctx, msg, mail, route)
    return _finish(msg, ctx, outcome, reason)


def staff_route(msg: RawMessage) -> routing.Route | None:
    """Where a person sent this mail (``RawMessage.staff_route``), instead of routing it by subject."""
    chosen = msg.staff_route or {}
    by = chosen.get("by") or "staff"
    if chosen.get("case_id"):
        return routing.Route(Outcome.FOLLOWUP, f"joined to {chosen['case_id']} by {by}",
                             case_id=chosen["case_id"])
    if chosen.get("kind") == Outcome.TRIAGE:
        return routing.Route(Outcome.TRIAGE, f"put in triage by {by}")
    if chosen.get("kind"):
        return routing.Route(Outcome.CASE, f"made {chosen['kind']} by {by}", kind=chosen["kind"])
    return None


def _report_parent(s: Session, msg: RawMessage, extraction: Extraction,
                   mail: ParsedMail) -> tuple[Case | None, str]:
    """The granted application a report belongs to: the one a person chose, else matched."""
    chosen = (msg.staff_route or {}).get("parent")
    if chosen:
        parent = repo.get_case(s, chosen)
        return parent, f"chosen by {(msg.staff_route or {}).get('by') or 'staff'}"
    return find_granted_application(s, extraction, mail)


def _record_case(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail,
                 route: routing.Route, grant: Case | None = None) -> tuple[str, str]:
    """Make, extend or refresh the case a routed mail belongs to; (outcome, reason).

    ``grant``: the granted application a report names by its case tag (else it is matched)."""
    existing = s.query(Submission).filter_by(message_pk=msg.id).one_or_none()
    if existing is not None:  # reprocessing: refresh what this mail says, keep the case
        _read_again(s, ctx, existing.case, mail, msg, existing)
        return route.outcome, route.reason
    assert route.kind is not None  # a route to a case always names the kind of mail
    if route.kind == MailKind.DOCUMENTATION:
        from intake.cases import documentation  # it builds on this module's steps

        return documentation.record_new(s, ctx, msg, mail, route)
    extraction = read_extract(ctx, mail, route.kind, msg.internaldate)
    parent = None
    if route.kind == MailKind.REPORT:
        parent, how = (grant, route.reason) if grant is not None else _report_parent(s, msg, extraction, mail)
        if parent is None:
            return Outcome.TRIAGE, f"report matches no granted application ({how})"
        earlier = find_open_report(s, parent)
        if earlier is not None:  # the missing parts, sent as a new mail rather than a reply
            extraction = _extract_for(s, ctx, earlier, mail, msg, None)
            _add_submission(s, ctx, earlier, msg, mail, route, extraction, CaseEventKind.RESUBMISSION,
                            f"more of the report from {mail.from_addr}")
            return route.outcome, f"{route.reason}; adds to the report {earlier.case_id}"
    elif route.kind == MailKind.APPLICATION and not extraction.late:
        # two workers with two mails from one organisation: one looks, makes its case, commits,
        # then the other looks (issue #10; PostgreSQL advisory lock, no-op on SQLite)
        locks.lock_organisation(s, *locks.organisation_keys(extraction.value("cvr"), mail.from_addr))
        earlier = find_undecided_application(s, extraction, mail)
        if earlier is not None:
            extraction = _extract_for(s, ctx, earlier, mail, msg, None, extraction)
            _add_submission(s, ctx, earlier, msg, mail, route, extraction, CaseEventKind.RESUBMISSION,
                            f"new version from {mail.from_addr} replaces the earlier one")
            return route.outcome, f"{route.reason}; supersedes the earlier submission of {earlier.case_id}"
    now = ctx.now()
    case = Case(
        case_id=repo.next_case_id(s, ctx.pool.case_prefix, ctx.pool.case_year),
        pool=ctx.pool.id, kind=route.kind, status=CaseStatus.RECEIVED,
        sender=mail.from_addr, sender_name=mail.from_name, subject=mail.subject[:2000],
        received_at=msg.internaldate, created_at=now, updated_at=now,
    )
    if parent is not None:
        case.parent_pk = parent.id
        case.org_name, case.cvr, case.municipality = parent.org_name, parent.cvr, parent.municipality
    s.add(case)
    msg.case = case
    submission = Submission(case=case, message_pk=msg.id, received_at=msg.internaldate,
                            status=CaseStatus.RECEIVED, current=True, created_at=now)
    s.add(submission)
    _fill_submission(s, submission, extraction)
    _update_case(case, ctx)
    detail = f"{route.kind} from {mail.from_addr}"
    if parent is not None:
        detail += f", report on {parent.case_id} ({how})"
    repo.add_event(s, case, CaseEventKind.CREATED, detail, now, msg)
    s.flush()
    log.debug("message %s → case %s (%s, %s)", msg.id, case.case_id, route.kind, case.status)
    _notify(s, ctx, CaseChange(CaseEventKind.CREATED, case, msg, mail, route, submission))
    return route.outcome, route.reason


def _record_followup(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail,
                     route: routing.Route) -> None:
    """A reply that joins its case; with attachments it is a new submission of that case."""
    case = repo.get_case(s, route.case_id or "")
    if case is None:  # routing only follows up on cases the pipeline found
        raise LookupError(f"case {route.case_id} of a follow-up does not exist")
    msg.case = case
    existing = s.query(Submission).filter_by(message_pk=msg.id).one_or_none()
    if existing is not None:  # read again where it went (documentation goes to its own case)
        msg.case = existing.case
        _read_again(s, ctx, existing.case, mail, msg, existing)
        return
    from intake.cases import documentation  # it builds on this module's steps

    if documentation.record_reply(s, ctx, msg, mail, route, case):
        return
    if mail.attachments and case.kind in (MailKind.APPLICATION, MailKind.REPORT) and case.status not in DECIDED:
        extraction = _extract_for(s, ctx, case, mail, msg, None)
        _add_submission(s, ctx, case, msg, mail, route, extraction, CaseEventKind.FOLLOWUP,
                        f"reply from {mail.from_addr} with {len(mail.attachments)} attachment(s)")
        return
    repo.add_event(s, case, CaseEventKind.FOLLOWUP, f"mail from {mail.from_addr}: {mail.subject}", ctx.now(), msg)
    _notify(s, ctx, CaseChange(CaseEventKind.FOLLOWUP, case, msg, mail, route))


def _read_again(s: Session, ctx: Context, case: Case, mail: ParsedMail, msg: RawMessage,
                existing: Submission) -> None:
    """Reprocessing: the mail's submission is read again in place; the case follows it."""
    extraction = _extract_for(s, ctx, case, mail, msg, existing)
    _fill_submission(s, existing, extraction)
    _update_case(case, ctx)
    repo.add_event(s, case, CaseEventKind.REPROCESSED, "read again", ctx.now(), msg)


def _add_submission(s: Session, ctx: Context, case: Case, msg: RawMessage, mail: ParsedMail,
                    route: routing.Route, extraction: Extraction, event: CaseEventKind, detail: str) -> None:
    """A newer submission of an existing case: it becomes current, the older ones history."""
    now = ctx.now()
    for old in case.submissions:
        old.current = False
    msg.case = case
    submission = Submission(case=case, message_pk=msg.id, received_at=msg.internaldate,
                            status=CaseStatus.RECEIVED, current=True, created_at=now)
    s.add(submission)
    _fill_submission(s, submission, extraction)
    s.flush()
    s.refresh(case)
    _update_case(case, ctx)
    repo.add_event(s, case, event, detail, now, msg)
    log.debug("message %s → new submission of %s (%s)", msg.id, case.case_id, case.status)
    _notify(s, ctx, CaseChange(CaseEventKind.SUBMISSION, case, msg, mail, route, submission))


def _extract_for(s: Session, ctx: Context, case: Case, mail: ParsedMail, msg: RawMessage,
                 this: Submission | None, first: Extraction | None = None) -> Extraction:
    """Extract a mail that adds to ``case``; documents it lacks carry over from the one before.

    An applicant who answers "the budget is missing" with only the budget keeps
    the form sent earlier; a report's parts add up across its submissions.
    """
    before = _previous_submission(case, this)
    if case.kind in (MailKind.REPORT, MailKind.DOCUMENTATION):
        return read_extract(ctx, mail, case.kind, msg.internaldate, _earlier_parts(case, this))
    extraction = first or read_extract(ctx, mail, case.kind, msg.internaldate)
    if case.kind != MailKind.APPLICATION or before is None:
        return extraction
    have = {a.role for a in extraction.attachments}
    wanted = [a for a in before.attachments if a.role in (AttachmentRole.FORM, AttachmentRole.BUDGET) and a.role not in have]
    if not wanted:
        return extraction
    carried = _attachments_by_sha(s, ctx, case, this, {a.sha256 for a in wanted})
    if not carried:
        return extraction
    combined = dataclasses.replace(mail, attachments=[*mail.attachments, *carried])
    return read_extract(ctx, combined, case.kind, msg.internaldate)


def _attachments_by_sha(s: Session, ctx: Context, case: Case, this: Submission | None,
                        wanted: set[str]) -> list[ParsedAttachment]:
    """The bytes of earlier attachments, found in the case's earlier mails (newest first)."""
    found: dict[str, ParsedAttachment] = {}
    for sub in reversed([x for x in case.submissions if this is None or x.id < this.id]):
        if not wanted - found.keys():
            break
        pk = sub.message_pk
        assert ctx.reads is not None
        for a in ctx.reads.parse(pk, functools.partial(repo.load_raw, s, pk), DEFAULT).attachments:
            sha = hashlib.sha256(a.data).hexdigest()
            if sha in wanted and sha not in found:
                found[sha] = a
    return list(found.values())


def _previous_submission(case: Case, this: Submission | None) -> Submission | None:
    """The submission before ``this`` (or the latest one, for a new submission)."""
    subs = [sub for sub in case.submissions if this is None or sub.id < this.id]
    return subs[-1] if subs else None


def _earlier_parts(case: Case, this: Submission | None) -> set[str]:
    """Report or documentation parts sent in the case's other submissions (not needed again)."""
    if case.kind not in (MailKind.REPORT, MailKind.DOCUMENTATION):
        return set()
    parts: set[str] = set()
    for sub in case.submissions:
        if sub is this or (this is not None and sub.id > this.id):
            continue
        for a in sub.attachments:
            parts.update(a.parts or ())
    return parts


def _update_case(case: Case, ctx: Context) -> None:
    """The case follows its current submission: status (unless decided), organisation, CVR."""
    current = current_submission(case)
    if current is None:
        return
    if case.status not in DECIDED:
        case.status = current.status
    fields = current.fields or {}
    for attr in ("org_name", "cvr", "municipality"):
        entry = fields.get(attr)
        value = entry.get("value") if isinstance(entry, dict) else None
        if value not in (None, ""):
            setattr(case, attr, str(value)[:500])
    case.updated_at = ctx.now()


def _fill_submission(s: Session, submission: Submission, extraction: Extraction) -> None:
    for old in list(submission.attachments):
        s.delete(old)
    s.flush()
    submission.attachments = [
        Attachment(position=i, filename=a.filename, declared_type=a.declared_type,
                   detected_type=a.detected_type, size=a.size, sha256=a.sha256, role=a.role,
                   parts=a.parts or None)
        for i, a in enumerate(extraction.attachments)
    ]
    submission.fields = extraction.fields
    submission.budget = extraction.budget
    submission.problems = extraction.problems
    submission.status = extraction.status


def _notify(s: Session, ctx: Context, change: CaseChange) -> None:
    for hook in ctx.hooks:
        hook(s, change)
