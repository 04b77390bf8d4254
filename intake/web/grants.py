"""A grant on its case page: the decision letters it got, and its quarters with staff's decision.

Staff approve or reject a quarter's documentation here as on the command line
(``documentation approve|reject``): both go through
:func:`intake.grants.quarters.decide`, which fixes the payout, records who and
why, and queues the mail to the grantee (the worker's next drain sends it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from intake.app import App
from intake.grants.quarters import QuarterError, decide, plan_for
from intake.outbox import receipt_setup
from intake.pool import Pool
from intake.web import auth
from intake.web.today import flash
from store import grants
from store.db import transaction
from store.models import Case
from store.words import CaseStatus, MailKind, OutboxState, QuarterState
from store.work import no_mail_reason_da, words_da


@dataclass(frozen=True)
class LetterRow:
    """One decision letter as the case page shows it."""

    kind: str
    correction: bool
    amount: str | None
    written_at: dt.datetime
    recipient: str
    sent: str  # Danish: sent, waiting, held back …


@dataclass(frozen=True)
class QuarterRow:
    """One quarter of a grant: what the plan pays, what arrived, what staff decided."""

    id: str
    label: str
    state: str  # a QuarterState, or "" when nothing arrived and nothing was decided
    planned: Decimal | None
    amount: str | None  # fixed when approved
    documentation: str | None  # the case id of the documentation mail
    inferred: bool
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    on_payout_list: int | None

    @property
    def decidable(self) -> bool:
        """Staff may still approve or reject it (not once it is on a payout list)."""
        return self.on_payout_list is None


@dataclass(frozen=True)
class GrantSection:
    """The grant part of a decided application's case page."""

    letters: list[LetterRow]
    letter_due: bool
    quarters: list[QuarterRow]
    plan_problem: str | None


def grant_section(s: Session, case: Case, pool: Pool) -> GrantSection | None:
    """Letters and quarters of a decided application; None for any other case."""
    if case.kind != MailKind.APPLICATION or case.status not in (CaseStatus.GRANTED, CaseStatus.REJECTED):
        return None
    letters = []
    for letter in grants.letters_of(s, case):
        row = grants.letter_outbox(s, letter)
        letters.append(LetterRow(letter.kind, letter.corrects_pk is not None, letter.amount, letter.created_at,
                                 letter.recipient, words_da()["outbox_states"].get(row.state, row.state) if row else "ikke lagt i udbakken"))
    due = grants.letter_due(s, case)
    if case.status != CaseStatus.GRANTED:
        return GrantSection(letters, due, [], None)
    plan = plan_for(case, pool)
    rows = {q.quarter: q for q in grants.quarters_of(s, case.id)}
    doc_pks = {q.documentation_pk for q in rows.values() if q.documentation_pk is not None}
    doc_ids: dict[int, str] = {}
    if doc_pks:
        doc_ids = {pk: cid for pk, cid in s.execute(select(Case.id, Case.case_id).where(Case.id.in_(doc_pks)))}
    quarters = []
    for quarter in pool.quarters:
        q = rows.get(quarter.id)
        paid = grants.payout_of(s, q) if q is not None else None
        quarters.append(QuarterRow(
            id=quarter.id, label=quarter.label, state=q.state if q else "", planned=plan.amount(quarter),
            amount=q.amount if q else None,
            documentation=doc_ids.get(q.documentation_pk) if q and q.documentation_pk else None,
            inferred=bool(q and q.inferred), decided_by=q.decided_by if q else None,
            decided_at=q.decided_at if q else None, reason=q.reason if q else None,
            on_payout_list=paid.list_pk if paid else None))
    return GrantSection(letters, due, quarters, plan.problem)


@auth.login_required
async def decide_quarter(request: Request) -> Response:
    """POST /sager/{case_id}/kvartal/{quarter}: approve (``action=approve``) or reject with a reason."""
    intake: App = request.app.state.intake
    case_id, quarter = request.path_params["case_id"], request.path_params["quarter"]
    form = await request.form()
    approve = form.get("action") == "approve"
    reason = str(form.get("reason") or "").strip()[:2000] or None
    user = request.state.user

    def act() -> tuple[str, bool]:
        try:
            with transaction(intake.context.factory) as s:
                done = decide(s, intake.pool, receipt_setup(intake.settings, intake.pool), case_id, quarter,
                              approve, user, intake.context.now(), reason)
        except QuarterError as exc:
            return f"Intet ændret: {exc}", True
        if not done.changed:
            return f"{done.quarter.label} var allerede {done.state}.", False
        mail = ""
        if done.notice == OutboxState.PENDING:
            mail = "; beskeden til tilskudsmodtageren er lagt i udbakken"
        elif done.notice:  # "suppressed", or "skipped: <why>"
            why = no_mail_reason_da(done.notice.removeprefix("skipped: "))
            mail = f". Tilskudsmodtageren får ingen automatisk besked: {why} Skriv selv til dem"
        word = "godkendt" if done.state == QuarterState.APPROVED else "afvist"
        return f"{done.quarter.label} er {word}{mail}.", False

    text, error = await run_in_threadpool(act)
    flash(request, text, error=error)
    return RedirectResponse(f"/sager/{quote(case_id)}#kvartaler", status_code=303)


def routes() -> list[Route]:
    """The routes of this module."""
    return [Route("/sager/{case_id}/kvartal/{quarter}", decide_quarter, methods=["POST"])]
