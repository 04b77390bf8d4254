"""A grantee's quarterly documentation: it joins the organisation's grant, one case per quarter.

Documentation mail arrives in three ways:

* a new mail whose subject says documentation ("Dokumentation", "Udbetaling",
  "Q1 2026" …, the pool file's kinds): it joins the granted application of the
  same organisation, found by a person's choice, else by CVR in the text,
  sender, mail domain or name (``matching.find_granted_application``); no grant
  found → triage with the reason;
* a mail with the grant's case tag (or a reply to our mail about the grant)
  that carries attachments and names documentation or a quarter (one naming the
  final report becomes the report on that grant);
* a reply to a documentation receipt, on the quarter's documentation case.

The quarter is read from the subject, the file names or the text
(``parsers/quarters.py``). Each quarter of a grant collects its mail in one
documentation case (``Case.kind = "documentation"``, its ``parent_pk`` the
grant), so parts sent in two mails add up; the quarter's row
(``intake.grants.quarters``) records that documentation came. A mail whose
quarter is unclear makes a documentation case of its own, with a warning, for
a person. Mail without attachments is a message on the grant (staff see it
among the replies), not documentation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake import routing
from intake.cases import recording as p
from intake.cases.context import CaseChange, Context, read_extract
from intake.cases.matching import find_granted_application
from intake.extraction import Extraction
from intake.grants.quarters import documentation_arrived
from notifications.render import subject_words
from parsers import quarters
from parsers.mime import ParsedMail
from store import grants
from store import repository as repo
from store.models import Case, RawMessage, Submission
from store.words import CaseEventKind, CaseStatus, MailKind, Outcome

# A documentation case is made and extended with the pipeline's own steps (``p._…``), so it is
# stored, read again and notified exactly like an application or a report.


def names_documentation(mail: ParsedMail, ctx: Context) -> bool:
    """True when a mail on a grant names documentation or a quarter (its subject or file names)."""
    if _kind_named(mail, ctx) == MailKind.DOCUMENTATION:
        return True
    base = routing.reply_base(mail.subject, ctx.pool.case_prefix, subject_words())
    return bool(quarters.mentions(base) or any(quarters.mentions(a.filename or "") for a in mail.attachments))


def record_new(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail,
               route: routing.Route) -> tuple[str, str]:
    """Documentation routed by its subject: find the grant, then the quarter's case; (outcome, reason)."""
    extraction = read_extract(ctx, mail, MailKind.DOCUMENTATION, msg.internaldate)
    chosen = (msg.staff_route or {}).get("parent")
    if chosen:
        grant, how = repo.get_case(s, chosen), f"chosen by {(msg.staff_route or {}).get('by') or 'staff'}"
    else:
        grant, how = find_granted_application(s, extraction, mail)
    if grant is None:
        return Outcome.TRIAGE, f"documentation matches no granted application ({how})"
    return _join(s, ctx, msg, mail, route, grant, how, extraction, None)


def _kind_named(mail: ParsedMail, ctx: Context) -> str | None:
    """The kind of mail the subject names under our tags and reply prefixes, if any."""
    kind = routing.match_kind(routing.reply_base(mail.subject, ctx.pool.case_prefix, subject_words()), ctx.pool)
    return kind.kind if kind is not None else None


def record_reply(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail, route: routing.Route,
                 case: Case) -> bool:
    """A mail on a grant's case that is documentation or the final report (the grant letter asks
    for the case number on all mail about the grant): on a documentation case, or with attachments
    on a granted application. False when it is neither (the pipeline goes on)."""
    granted = case.kind == MailKind.APPLICATION and case.status == CaseStatus.GRANTED
    if granted and mail.attachments and _kind_named(mail, ctx) == MailKind.REPORT:
        report = routing.Route(Outcome.CASE, f"{route.reason}; a final report", kind=MailKind.REPORT)
        p._record_case(s, ctx, msg, mail, report, grant=case)
        return True
    if case.kind == MailKind.DOCUMENTATION and case.parent_pk is not None:
        grant, same = s.get(Case, case.parent_pk), case
    elif (case.kind == MailKind.APPLICATION and case.status == CaseStatus.GRANTED and mail.attachments
          and ((msg.staff_route or {}).get("case_id") or names_documentation(mail, ctx))):
        # a person joined it to the grant, or it says it documents a quarter
        grant, same = case, None
    else:
        return False
    if grant is None:
        return False
    extraction = read_extract(ctx, mail, MailKind.DOCUMENTATION, msg.internaldate)
    _join(s, ctx, msg, mail, route, grant, route.reason, extraction, same)
    return True


def _quarter_case(s: Session, grant: Case, quarter: quarters.Quarter | None) -> Case | None:
    row = grants.quarter_row(s, grant.id, quarter.id) if quarter is not None else None
    return s.get(Case, row.documentation_pk) if row is not None and row.documentation_pk else None


def _join(s: Session, ctx: Context, msg: RawMessage, mail: ParsedMail, route: routing.Route, grant: Case,
          how: str, extraction: Extraction, same: Case | None) -> tuple[str, str]:
    """Add the mail to its quarter's documentation case (made when missing); (outcome, reason)."""
    now = ctx.now()
    if not mail.attachments:
        msg.case = grant
        repo.add_event(s, grant, CaseEventKind.FOLLOWUP, f"mail about documentation from {mail.from_addr}, "
                       f"without attachments: {mail.subject}", now, msg)
        return Outcome.FOLLOWUP, f"documentation without attachments joins {grant.case_id} ({how})"
    reading = extraction.quarter
    quarter = reading.quarter if reading is not None else None
    if same is not None and (reading is None or quarter is None or reading.inferred):
        # a reply on a quarter's case is about that quarter, unless it names another one
        row = grants.quarter_of_documentation(s, same)
        quarter = quarters.Quarter.parse(row.quarter) if row is not None else None
    doc = same if same is not None and quarter is None else _quarter_case(s, grant, quarter)
    if doc is not None:
        extraction = p._extract_for(s, ctx, doc, mail, msg, None)
        if quarter is not None:
            documentation_arrived(s, grant, quarter, doc, msg.internaldate, False, now)
        p._add_submission(s, ctx, doc, msg, mail, route, extraction, CaseEventKind.RESUBMISSION,
                          f"more documentation from {mail.from_addr}")
        return Outcome.CASE, f"documentation for {quarter or 'an unclear quarter'} adds to {doc.case_id} ({how})"
    doc = Case(case_id=repo.next_case_id(s, ctx.pool.case_prefix, ctx.pool.case_year), pool=ctx.pool.id,
               kind=MailKind.DOCUMENTATION, status=CaseStatus.RECEIVED, sender=mail.from_addr,
               sender_name=mail.from_name, subject=mail.subject[:2000], received_at=msg.internaldate,
               created_at=now, updated_at=now, parent_pk=grant.id, org_name=grant.org_name, cvr=grant.cvr,
               municipality=grant.municipality)
    s.add(doc)
    msg.case = doc
    submission = Submission(case=doc, message_pk=msg.id, received_at=msg.internaldate,
                            status=CaseStatus.RECEIVED, current=True, created_at=now)
    s.add(submission)
    p._fill_submission(s, submission, extraction)
    p._update_case(doc, ctx)
    what = quarter.id if quarter is not None else "an unclear quarter"
    repo.add_event(s, doc, CaseEventKind.CREATED, f"documentation for {what} from {mail.from_addr}, "
                   f"on {grant.case_id} ({how})", now, msg)
    s.flush()
    if quarter is not None:
        documentation_arrived(s, grant, quarter, doc, msg.internaldate,
                              reading is not None and reading.inferred, now)
    p._notify(s, ctx, CaseChange(CaseEventKind.CREATED, doc, msg, mail, route, submission))
    return Outcome.CASE, f"documentation for {what} of {grant.case_id} ({how})"
