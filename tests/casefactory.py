"""Cases made directly through the ORM, in the shapes of docs/contracts.md.

The digest, export and decisions tests need cases in every state without
running extraction; these helpers write them on the test app's database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from decimal import Decimal

from sqlalchemy.orm import Session

from store.models import Attachment, Case, CaseEvent, RawMessage, Submission
from store.words import MessageState

_counter = itertools.count(1)

UTC = dt.UTC


def field(value, raw=None, source="PDF field"):
    """One extracted value as ``Submission.fields`` holds it."""
    return {"value": value, "raw": raw if raw is not None else str(value), "source": source}


def application_fields(org="Boligselskabet Nord", cvr="12345674", municipality="Aarhus",
                       fte="1", amount="1012497.75", **extra) -> dict:
    """A complete set of form fields (normalised as the contract says)."""
    values = {
        "org_name": org, "cvr": cvr, "address": "Vestergade 1, 8000 Aarhus C",
        "contact_name": "Mette Hansen", "contact_email": "mette@example.dk",
        "contact_phone": "+45 12 34 56 78", "departments": "Afdeling 7, Nordbyen",
        "municipality": municipality, "partners": f"{municipality} Kommune, Socialforvaltningen",
        "fte": fte, "hire_type": "nyansaettelse", "start_date": "2026-01-01",
        "referrals": 42, "evictions": 7, "rent_level": "950.00",
        "collaboration": "Vi mødes hver måned med kommunens bostøtte og afdelingsbestyrelsen.",
        "organisation": "Viceværten ansættes i driften og refererer til boligsocial leder.",
        "target_group": "Beboere med hjemløsebaggrund, som skal have hjælp til at bo.",
        "amount_requested": amount, "signatory": "Mette Hansen", "signed_date": "2025-07-20",
    }
    values.update(extra)
    return {k: field(v) for k, v in values.items() if v is not None}


def budget(fte: str = "1") -> dict:
    """A correct budget for ``fte`` caretakers (decimal strings, two-decimal amounts)."""
    f = Decimal(fte)
    s26 = (Decimal("1649") * f * Decimal("334")).quantize(Decimal("0.01"))
    s27 = (Decimal("1649") * f * Decimal("341") * Decimal("0.75")).quantize(Decimal("0.01"))
    act = (Decimal("20000") * f).quantize(Decimal("0.01"))
    hours = str((Decimal("1649") * f).normalize())
    lines = [
        {"key": "salary_2026", "line": "Løn 2026", "hours": hours, "rate": "334.00",
         "share": "1.00", "amount": str(s26), "source": "cell Budget!E5"},
        {"key": "salary_2027", "line": "Løn 2027", "hours": hours, "rate": "341.00",
         "share": "0.75", "amount": str(s27), "source": "cell Budget!E6"},
        {"key": "activity_2026", "line": "Aktivitetsmidler 2026", "hours": None, "rate": None,
         "share": None, "amount": str(act), "source": "cell Budget!E7"},
        {"key": "activity_2027", "line": "Aktivitetsmidler 2027", "hours": None, "rate": None,
         "share": None, "amount": str(act), "source": "cell Budget!E8"},
    ]
    return {"lines": lines, "total": str(s26 + s27 + 2 * act), "total_source": "cell Budget!E9",
            "recomputed": []}


def problem(code, field_key, message, severity="error"):
    """One problem as ``Submission.problems`` holds it."""
    return {"code": code, "field": field_key, "message": message, "severity": severity}


def raw_message(s: Session, *, received: dt.datetime, subject="Ansøgning – Pulje til sociale viceværter",
                sender="mette@example.dk", state=MessageState.PROCESSED, outcome="case",
                reason="application", last_error=None, attempts=0, case=None) -> RawMessage:
    """A stored mail row with unique bytes and a Message-ID."""
    n = next(_counter)
    mid = f"<test-{n}@example.dk>"
    raw = f"Message-ID: {mid}\r\nFrom: {sender}\r\nSubject: {subject}\r\n\r\nbody {n}\r\n".encode()
    msg = RawMessage(
        sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), raw=raw, message_id=mid,
        internaldate=received, stored_at=received, state=state, attempts=attempts,
        last_error=last_error, outcome=outcome if state == MessageState.PROCESSED else None,
        reason=reason, subject=subject, sender=sender,
        processed_at=received if state == MessageState.PROCESSED else None, case=case,
    )
    s.add(msg)
    s.flush()
    return msg


def make_case(s: Session, case_id: str, *, kind="application", status="komplet",
              received: dt.datetime | None = None, created: dt.datetime | None = None,
              sender="mette@example.dk", fields=None, budget_=None, problems=(),
              attachments=(("Ansøgningsskema.pdf", "pdf", "form"), ("Budget.xlsx", "xlsx", "budget")),
              set_case_columns=True, decision=None, granted_amount=None) -> Case:
    """A case with one message and one current submission."""
    received = received or dt.datetime(2025, 7, 20, 10, 0, tzinfo=UTC)
    created = created or received
    fields = application_fields() if fields is None else fields
    value = {k: v["value"] for k, v in fields.items()}
    case = Case(
        case_id=case_id, pool="sociale-viceværter-2025", kind=kind, status=status, sender=sender,
        sender_name="Mette Hansen", subject="Ansøgning – Pulje til sociale viceværter",
        received_at=received, created_at=created, updated_at=created,
        org_name=value.get("org_name") if set_case_columns else None,
        cvr=value.get("cvr") if set_case_columns else None,
        municipality=value.get("municipality") if set_case_columns else None,
        decision=decision, granted_amount=granted_amount,
    )
    s.add(case)
    msg = raw_message(s, received=received, sender=sender, case=case)
    sub = Submission(case=case, message_pk=msg.id, received_at=received, status=status,
                     current=True, fields=fields, budget=budget() if budget_ is None else budget_,
                     problems=list(problems), created_at=created)
    s.add(sub)
    for i, (name, detected, role) in enumerate(attachments):
        data = f"{case_id}/{name}".encode()
        s.add(Attachment(submission=sub, position=i, filename=name, declared_type=None,
                         detected_type=detected, size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), role=role))
    s.add(CaseEvent(case=case, at=created, kind="created", detail="test"))
    s.flush()
    return case
