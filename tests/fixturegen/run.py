"""Run a generated fixture set through the real pipeline and collect what intake made of it.

Applications arrive first; the grantees' applications are then marked granted
(as ``decisions import`` would), and the reports arrive after that.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from fixturegen.applications import Scenario
from intake.cases.pipeline import Context, process_pending
from store import repository as repo
from store.db import transaction
from store.models import Case, RawMessage


def _store(ctx: Context, scenarios: list[Scenario], start_uid: int) -> int:
    uid = start_uid
    with transaction(ctx.factory) as s:
        for sc in scenarios:
            for m in sc.mails:
                uid += 1
                repo.store_raw(s, repo.Fetched("fixtures", "INBOX", 1, str(uid), m.received, m.raw),
                               ctx.now())
    return uid


def _case_of(s, sc: Scenario) -> tuple[Case | None, list[RawMessage]]:
    ids = [m.message_id for m in sc.mails]
    msgs = list(s.scalars(select(RawMessage).where(RawMessage.message_id.in_(ids))))
    cases = {m.case.id: m.case for m in msgs if m.case is not None}
    return (next(iter(cases.values())) if len(cases) == 1 else None), msgs


def _result(s, sc: Scenario) -> dict:
    case, msgs = _case_of(s, sc)
    out: dict = {"outcomes": sorted(m.outcome or m.state for m in msgs),
                 "errors": [m.last_error for m in msgs if m.last_error]}
    if case is None:
        out["triage"] = all(m.outcome == "triage" for m in msgs) and bool(msgs)
        return out
    current = next(sub for sub in reversed(case.submissions) if sub.current)
    parent = s.get(Case, case.parent_pk) if case.parent_pk else None
    out.update(
        triage=False, kind=case.kind, status=case.status, case_id=case.case_id,
        fields={k: v.get("value") for k, v in (current.fields or {}).items()},
        budget=current.budget or {},
        problems=sorted(p["code"] for p in current.problems),
        problem_fields=sorted({(p.get("field") or "").split(".")[0] for p in current.problems}),
        problem_pairs=sorted([p["code"], p.get("field") or ""] for p in current.problems),
        submissions=len(case.submissions), parent_case=parent.case_id if parent else None,
        cvr=case.cvr, org_name=case.org_name,
    )
    return out


def run_set(ctx: Context, scenarios: list[Scenario]) -> dict[str, dict]:
    """Process every scenario's mails; return name -> what intake made of them."""
    results: dict[str, dict] = {}
    first = [sc for sc in scenarios if sc.stage == 0]
    later = [sc for sc in scenarios if sc.stage == 1]
    uid = _store(ctx, first, 0)
    process_pending(ctx)
    with transaction(ctx.factory) as s:
        for sc in first:
            results[sc.name] = _result(s, sc)
        for sc in first:
            if sc.granted:
                case, _ = _case_of(s, sc)
                if case is not None:
                    case.status = "bevilget"
    _store(ctx, later, uid)
    process_pending(ctx)
    with transaction(ctx.factory) as s:
        for sc in later:
            results[sc.name] = _result(s, sc)
            if sc.parent:
                parent_case, _ = _case_of(s, next(x for x in first if x.name == sc.parent))
                results[sc.name]["expected_parent_case"] = parent_case.case_id if parent_case else None
    return results


def snapshot(ctx: Context, scenarios: list[Scenario]) -> dict:
    """Every case, submission and message state now: to compare before and after a reprocess."""
    from store.models import Submission

    with ctx.factory() as s:
        cases = [(c.case_id, c.kind, c.status, c.parent_pk, c.cvr, c.org_name,
                  [(sub.message_pk, sub.current, sub.status, sub.fields, sub.budget, sub.problems,
                    [(a.filename, a.role) for a in sub.attachments]) for sub in c.submissions])
                 for c in s.scalars(select(Case).order_by(Case.id))]
        messages = [(m.id, m.state, m.outcome, m.case_pk)
                    for m in s.scalars(select(RawMessage).order_by(RawMessage.id))]
        count = s.query(Submission).count()
    return {"cases": cases, "messages": messages, "submissions": count}


def dec(value) -> Decimal | None:
    """A budget number as Decimal for comparison (None stays None)."""
    return None if value is None else Decimal(str(value))


def budget_view(budget: dict) -> dict:
    """Lines (key, hours, rate, share, amount) and total as Decimals, for comparing."""
    if not budget:
        return {}
    return {
        "lines": [{k: (line.get(k) if k == "key" else dec(line.get(k)))
                   for k in ("key", "hours", "rate", "share", "amount")}
                  for line in budget.get("lines") or []],
        "total": dec(budget.get("total")),
    }


def fixed_clock() -> dt.datetime:
    """The fixture run's clock: after the report deadline, so nothing depends on today."""
    return dt.datetime(2028, 3, 1, 12, 0, tzinfo=dt.UTC)
