"""Text views of cases and messages for the command line."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.pool import Pool
from notifications.render import one_line
from store.casedata import case_lines
from store.models import Case, RawMessage
from store.words import MailKind, MessageState, Outcome, SenderAuth


def local(ts: dt.datetime | None, pool: Pool) -> str:
    """A timestamp in the pool's time zone, minutes precision."""
    if ts is None:
        return "-"
    return ts.astimezone(pool.timezone).strftime("%Y-%m-%d %H:%M")


def printable(text: str | None, n: int = 200) -> str:
    """Text from a mail made safe for a terminal, on one line of at most ``n`` characters.

    Every byte of mail is hostile: control and format characters (escape
    sequences, bidirectional overrides) become "?" so a subject cannot move the
    cursor, recolour the screen or reverse what the operator reads.
    """
    cleaned = "".join("?" if unicodedata.category(ch)[0] == "C" and ch not in "\t\n\r" else ch
                      for ch in (text or ""))
    return one_line(cleaned, n)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def cases_table(s: Session, pool: Pool, kind: str | None = None, status: str | None = None) -> str:
    """One line per case (three queries of plain columns, however many cases)."""
    lines = case_lines(s, kind, status)
    if not lines:
        return "no cases"
    rows = []
    for line in lines:
        c = line.case
        rows.append([
            c.case_id, c.kind, c.status, local(c.received_at, pool),
            ("! " if c.sender_auth == SenderAuth.UNVERIFIED else "") + one_line(c.sender, 34),
            one_line(c.org_name, 30) or "-", str(line.files), str(line.problems),
        ])
    return _table(["case", "kind", "status", "received", "sender", "organisation", "files", "problems"], rows)


def messages_summary(s: Session) -> str:
    """One line about mail that made no case of its own."""
    counts = dict(s.execute(
        select(RawMessage.outcome, func.count()).where(RawMessage.state == MessageState.PROCESSED)
        .group_by(RawMessage.outcome)
    ).all())
    quarantined = s.scalar(select(func.count()).where(RawMessage.state == MessageState.QUARANTINED))
    waiting = s.scalar(select(func.count()).where(
        RawMessage.state.in_([MessageState.STORED, MessageState.FAILED])))
    return (f"mail: {counts.get(Outcome.CASE, 0)} made cases, {counts.get(Outcome.FOLLOWUP, 0)} joined cases, "
            f"{counts.get(Outcome.TRIAGE, 0)} in triage, {counts.get(Outcome.IGNORED, 0)} ignored (automatic), "
            f"{quarantined} quarantined, {waiting} waiting  (--triage lists them)")


def messages_table(s: Session, pool: Pool) -> str:
    """Mail that did not make a case: triage, ignored, quarantined, waiting, with reasons."""
    # the columns shown, never the raw bytes (a triage of 10,000 mails would read them all)
    msgs = s.execute(
        select(RawMessage.id, RawMessage.outcome, RawMessage.state, RawMessage.internaldate, RawMessage.sender,
               RawMessage.subject, RawMessage.reason, RawMessage.last_error).where(
            (RawMessage.state != MessageState.PROCESSED) | RawMessage.outcome.in_([Outcome.TRIAGE, Outcome.IGNORED])
        ).order_by(RawMessage.id)
    ).all()
    if not msgs:
        return "no mail outside cases"
    rows = [[str(m.id), (m.outcome or "-") if m.state == MessageState.PROCESSED else m.state,
             local(m.internaldate, pool), one_line(m.sender, 30), one_line(m.subject, 40),
             one_line(m.reason or m.last_error, 60)] for m in msgs]
    return _table(["msg", "where", "received", "sender", "subject", "reason"], rows)


def _value(v: Any) -> str:
    if isinstance(v, dict) and "value" in v:
        src = v.get("source")
        return f"{v['value']}" + (f"   [{src}]" if src else "")
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)


def _outbox_lines(s: Session, case: Case, pool: Pool) -> list[str]:
    """The mails we made for a case (receipts, reminders) and what became of them."""
    from notifications.outbox import rows_for_case

    rows = rows_for_case(s, case.id)
    if not rows:
        return []
    out = ["", "Mail to the sender:"]
    for r in rows:
        when = local(r.sent_at or r.created_at, pool)
        note = f"  ({one_line(r.last_error, 80)})" if r.last_error else ""
        out.append(f"  {when}  {r.purpose} to {r.recipient}: {r.state}, {r.attempts} attempt(s){note}")
    return out


def _budget_lines(budget: dict[str, Any]) -> list[str]:
    """The budget as a small table, then where each of its numbers came from."""
    out = ["  budget:"]
    lines = budget.get("lines") or []
    rows = [[str(line.get(k) if line.get(k) is not None else "-")
             for k in ("line", "hours", "rate", "share", "amount")] for line in lines]
    rows.append(["I alt", "", "", "", str(budget.get("total") or "-")])
    table = _table(["line", "hours", "rate", "share", "amount"], rows)
    out += ["    " + row for row in table.splitlines()]
    out.append("    sources:")
    for line in lines:
        sources = line.get("sources") or {"amount": line.get("source")}
        described = "; ".join(f"{part} {src}" for part, src in sources.items() if src)
        out.append(f"      {line.get('line') or line.get('key')}: {described or '-'}")
    out.append(f"      I alt: {budget.get('total_source') or '-'}")
    if budget.get("recomputed"):
        out.append(f"    computed (no cached value): {', '.join(budget['recomputed'])}")
    return out


def _grant_lines(s: Session, case: Case) -> list[str]:
    """A decided application's letters and a grant's quarters (documentation, approval, payout)."""
    from store import grants

    out = [f"  letter:       {'correction ' if letter.corrects_pk else ''}{letter.kind} for version {letter.version}"
           f" to {letter.recipient}, by {letter.by or '-'}" for letter in grants.letters_of(s, case)]
    for q in grants.quarters_of(s, case.id):
        doc = s.get(Case, q.documentation_pk) if q.documentation_pk else None
        paid = grants.payout_of(s, q)
        out.append(f"  quarter:      {q.quarter} {q.state}" + (f" by {q.decided_by}" if q.decided_by else "")
                   + (f", {q.amount} kr." if q.amount else "") + (f", documentation {doc.case_id}" if doc else "")
                   + (" (quarter inferred)" if q.inferred else "") + (f", on payout list {paid.list_pk}" if paid else "")
                   + (f": {q.reason}" if q.reason else ""))
    return out


def case_detail(s: Session, case: Case, pool: Pool) -> str:
    """Everything about one case: submissions, attachments, fields, budget, problems, history."""
    out = [
        f"Case {case.case_id}  ({case.kind}, status: {case.status})",
        f"  sender:       {case.sender_name + ' ' if case.sender_name else ''}<{case.sender or '-'}>"
        + ("   AFSENDER IKKE BEKRÆFTET (no automatic mail)" if case.sender_auth == SenderAuth.UNVERIFIED else ""),
        f"  subject:      {case.subject or '-'}",
        f"  received:     {local(case.received_at, pool)} ({pool.timezone.key})",
        f"  organisation: {case.org_name or '-'}   CVR: {case.cvr or '-'}   municipality: {case.municipality or '-'}",
    ]
    if case.parent_pk:
        parent = s.get(Case, case.parent_pk)
        label = "report on:   " if case.kind == MailKind.REPORT else "grant:       "
        out.append(f"  {label} {parent.case_id if parent else case.parent_pk}")
    if case.decision:
        out.append(f"  decision:     {case.decision}  {case.granted_amount or ''}  (version {case.decision_version})")
    out.extend(_grant_lines(s, case))
    if case.receipts_suppressed:
        out.append(f"  receipts:     {case.receipts_suppressed}")
    for sub in case.submissions:
        flag = "current" if sub.current else "superseded"
        out.append("")
        out.append(f"Submission from message {sub.message_pk}, {local(sub.received_at, pool)} ({flag}, {sub.status})")
        out.append("  attachments:")
        for a in sub.attachments:
            role = f" as {a.role}" if a.role else ""
            role += f" ({', '.join(a.parts)})" if a.parts else ""
            out.append(f"    - {a.filename or '(no name)'}  {a.detected_type}{role}, {a.size} bytes, sha256 {a.sha256[:16]}…")
        if not sub.attachments:
            out.append("    (none)")
        if sub.fields:
            out.append("  fields:")
            for key, v in sub.fields.items():
                out.append(f"    {key}: {_value(v)}")
        if sub.budget:
            out.extend(_budget_lines(sub.budget))
        out.append("  problems:" + ("" if sub.problems else " none"))
        for p in sub.problems:
            field = f" [{p.get('field')}]" if p.get("field") else ""
            severity = " (advarsel)" if p.get("severity") == "warning" else ""
            out.append(f"    - {p.get('code')}{field}{severity}: {p.get('message')}")
    out.extend(_outbox_lines(s, case, pool))
    out.append("")
    out.append("History:")
    for e in case.events:
        out.append(f"  {local(e.at, pool)}  {e.kind}: {e.detail or ''}")
    return "\n".join(out)
