"""Cases: a list with filters, and a page per case with its values, documents, mail and history.

A decision recorded here is checked by ``intake.committee.decisions.check_decision``,
the same check the committee sheet's rows get.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from intake.app import App
from intake.committee.decisions import check_decision, read_amount, record_decision
from intake.extraction import texts_for
from intake.pool import Pool
from intake.rules.texts import TextError, Texts
from intake.web import auth
from intake.web.app import render
from intake.web.grants import grant_section
from intake.web.mailview import MailView, attachment_bytes, view
from intake.web.today import file_response, flash
from notifications.outbox import rows_for_case
from notifications.render import labels as mail_labels
from parsers.fieldmap import load_fieldmap
from store import casedata as cd
from store import caserows, work
from store import repository as repo
from store.db import transaction
from store.models import Attachment, Case, RawMessage, Submission
from store.words import CaseStatus, MailKind

MAX_LIST = 500  # cases on one page of the list


@dataclass(frozen=True)
class ThreadEntry:
    """One mail of a case's thread: from the applicant (in) or from us (out)."""

    at: dt.datetime
    incoming: bool
    mail: MailView
    link: str
    note: str  # for our mail: sent, pending, failed ...


def _norm_choice(value: str | None, choices: Iterable[str]) -> str | None:
    return value if value in set(choices) else None


def _find_cases(s: Session, status: str | None, kind: str | None, municipality: str | None,
                problems: bool, text: str) -> tuple[list[caserows.CaseRow], int]:
    # plain rows, not objects: 10,000 cases' objects took 1-2 s (bench/RESULTS.md)
    q = caserows.case_query(kind, status)
    if municipality:
        q = q.where(Case.municipality == municipality)
    if text:
        like = f"%{text.lower()}%"
        q = q.where(or_(*(func.lower(col).like(like) for col in
                          (Case.case_id, Case.org_name, Case.sender, Case.sender_name, Case.subject,
                           Case.cvr, Case.municipality))))
    if not problems:  # the page shows MAX_LIST: the database cuts and counts (10,000 cases: 1.5 s → 0.1 s)
        return caserows.case_rows(s, q.limit(MAX_LIST), json_columns=("fields", "problems")), caserows.count(s, q)
    # problems live in the submission's JSON: read every case's, then filter (the form only decoded when shown)
    with caserows.gc_paused():
        found = [c for c in caserows.case_rows(s, q, json_columns=("problems",), fields_when=caserows.form_needed())
                 if cd.problems(c)]
    return found[:MAX_LIST], len(found)


@auth.login_required
async def case_list(request: Request) -> Response:
    """GET /sager: every case, filtered by status, kind, municipality, problems and free text."""
    params = request.query_params
    status = _norm_choice(params.get("status"), CaseStatus)
    kind = _norm_choice(params.get("slags"), MailKind)
    municipality = (params.get("kommune") or "").strip() or None
    problems = params.get("problemer") == "ja"
    text = " ".join((params.get("q") or "").split())[:200]
    intake: App = request.app.state.intake

    def load() -> tuple[list[dict[str, Any]], int, list[str]]:
        with intake.context.factory() as s:
            cases, total = _find_cases(s, status, kind, municipality, problems, text)
            rows = [{"case": c, "org": cd.org_name(c), "municipality": cd.municipality(c),
                     "problems": len(cd.problems(c))} for c in cases]
            towns = sorted(t for t in s.scalars(select(Case.municipality).distinct()) if t)
            return rows, total, towns

    rows, total, towns = await run_in_threadpool(load)
    return render(request, "cases.html.j2", rows=rows, total=total, towns=towns,
                  statuses=list(CaseStatus), kinds=[MailKind.APPLICATION, MailKind.REPORT, MailKind.DOCUMENTATION],
                  f={"status": status or "", "slags": kind or "", "kommune": municipality or "",
                     "problemer": problems, "q": text})


def _label(texts: Texts, key: str) -> str:
    try:
        return texts.label(key)
    except TextError:  # a key an older field map had: show it as it is
        return key


def _fields(sub: Submission | None, pool: Pool) -> list[dict[str, Any]]:
    """The values read, in the form's order, with the Danish label and where each came from."""
    values = cd.submission_fields(sub)
    fieldmap = load_fieldmap()
    texts = texts_for(fieldmap, pool)
    order = [f.key for f in fieldmap.fields]
    keys = [k for k in order if k in values] + sorted(k for k in values if k not in order)
    out = []
    for key in keys:
        entry = values[key]
        out.append({"key": key, "label": _label(texts, key), "value": cd.value_of(entry),
                    "raw": entry.get("raw") if isinstance(entry, dict) else None,
                    "source": entry.get("source") if isinstance(entry, dict) else None})
    return out


def _thread(s: Session, case: Case) -> list[ThreadEntry]:
    entries = []
    for msg in s.scalars(select(RawMessage).where(RawMessage.case_pk == case.id)
                         .order_by(RawMessage.internaldate, RawMessage.id)):
        entries.append(ThreadEntry(msg.internaldate, True, view(msg.raw), f"/post/{msg.id}", ""))
    for row in rows_for_case(s, case.id):
        entries.append(ThreadEntry(row.sent_at or row.created_at, False, view(row.raw), f"/udbakke/{row.id}",
                                   row.state))
    return sorted(entries, key=lambda e: e.at)


def _case_page(intake: App, case_id: str) -> dict[str, Any] | None:
    with intake.context.factory() as s:
        case = repo.get_case(s, case_id)
        if case is None:
            return None
        current = cd.current_submission(case)
        parent = s.get(Case, case.parent_pk) if case.parent_pk else None
        reports = list(s.scalars(select(Case.case_id).where(Case.parent_pk == case.id).order_by(Case.id)))
        items = [i for i in work.open_items(s).items if i.case_id == case.case_id]
        return {
            "case": case, "current": current, "fields": _fields(current, intake.pool), "budget": cd.budget(case),
            "problems": cd.problems(case),
            "submissions": [{"sub": sub, "files": list(sub.attachments)} for sub in case.submissions],
            "thread": _thread(s, case), "events": list(case.events), "items": items,
            "parent": parent.case_id if parent else None, "reports": reports,
            "org": cd.org_name(case), "cvr": cd.cvr(case), "municipality": cd.municipality(case),
            "requested": cd.field_value(case, "amount_requested") or cd.budget(case).get("total"),
            "roles": mail_labels().get("roles", {}), "types": mail_labels().get("types", {}),
            "decidable": case.kind == MailKind.APPLICATION,
            "no_receipt": work.no_receipt_da(case.receipts_suppressed),
            "grant": grant_section(s, case, intake.pool),
        }


@auth.login_required
async def case_page(request: Request) -> Response:
    """GET /sager/{case_id}: everything about one case."""
    data = await run_in_threadpool(_case_page, request.app.state.intake, request.path_params["case_id"])
    if data is None:
        return render(request, "notfound.html.j2", status_code=404, what="Sagen findes ikke.")
    return render(request, "case.html.j2", flash=request.session.pop("flash", None), **data)


@auth.login_required
async def case_file(request: Request) -> Response:
    """GET /sager/{case_id}/fil/{pk}: an attachment of one of the case's submissions."""
    intake: App = request.app.state.intake

    def load() -> tuple[bytes, str] | None:
        with intake.context.factory() as s:
            case = repo.get_case(s, request.path_params["case_id"])
            row = s.get(Attachment, request.path_params["pk"])
            if case is None or row is None or row.submission.case_pk != case.id:
                return None
            data = attachment_bytes(s, case, row)
            return (data, row.filename or f"bilag-{row.position + 1}") if data is not None else None

    found = await run_in_threadpool(load)
    if found is None:
        return PlainTextResponse("Filen findes ikke.", status_code=404)
    return file_response(*found)


@auth.login_required
async def record(request: Request) -> Response:
    """POST /sager/{case_id}/beslutning: the committee's decision (bevilget with amount, afslag)."""
    intake: App = request.app.state.intake
    case_id = request.path_params["case_id"]
    form = await request.form()
    decision = " ".join(str(form.get("decision") or "").split()).casefold()
    typed_amount = str(form.get("amount") or "").strip()
    reason = str(form.get("reason") or "").strip()[:2000]
    user = request.state.user

    def act() -> tuple[str, bool, str]:
        with transaction(intake.context.factory) as s:
            case = repo.get_case(s, case_id)
            if case is None:
                return "Sagen findes ikke.", True, case_id
            amount = read_amount(typed_amount)
            errors = check_decision(case, decision, amount, form.get("decision") or "")
            if errors or isinstance(amount, str):
                return "Beslutningen er ikke gemt: " + "; ".join(m for _, m in errors) + ".", True, case.case_id
            changed = record_decision(s, case, decision, amount, intake.context.now(),
                                      f"registreret af {user} på sagens side", reason=reason)
            return (f"Beslutningen er registreret: {decision}." if changed
                    else "Sagen havde allerede den beslutning."), False, case.case_id

    text, error, canonical = await run_in_threadpool(act)
    flash(request, text, error=error)
    return RedirectResponse(f"/sager/{quote(canonical)}#beslutning", status_code=303)


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/sager", case_list),
        Route("/sager/{case_id}", case_page),
        Route("/sager/{case_id}/fil/{pk:int}", case_file),
        Route("/sager/{case_id}/beslutning", record, methods=["POST"]),
    ]
