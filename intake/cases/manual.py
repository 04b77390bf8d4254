"""A person decides where a stored mail goes: joined to a case, or made an application or report.

The choice is kept on the message (``RawMessage.staff_route``) and the pipeline
runs again on the stored bytes, so the result is exactly what processing would
have made had routing known, and a later ``reprocess`` keeps the person's
choice. Used by the web page and by ``quarantine release --as``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from intake.cases.pipeline import Context, process_one, reset_for_reprocess
from store import repository as repo
from store.db import transaction
from store.models import Case, RawMessage
from store.words import CaseStatus, MailKind, MessageState, Outcome

#: The kinds a person may make a case of.
CASE_KINDS = (MailKind.APPLICATION, MailKind.REPORT, MailKind.DOCUMENTATION)
#: The kinds that belong to a granted application (``parent``).
ON_A_GRANT = (MailKind.REPORT, MailKind.DOCUMENTATION)
#: Where a person may send a mail: a new case of one of those kinds, or triage.
CHOICES = (*CASE_KINDS, Outcome.TRIAGE)


class RouteError(ValueError):
    """The choice cannot be carried out; the message (Danish, for staff) says why."""


@dataclass(frozen=True)
class Routed:
    """What processing made of the mail after a person chose its way."""

    outcome: str  # an Outcome, or the message state if processing failed
    reason: str
    case_id: str | None

    @property
    def failed(self) -> bool:
        """True when processing did not get through (the worker retries it later)."""
        return self.outcome in (MessageState.FAILED, MessageState.QUARANTINED)


def _case(s: Session, case_id: str) -> Case:
    case = repo.get_case(s, case_id.strip())
    if case is None:
        raise RouteError(f"Der findes ingen sag {case_id.strip()}.")
    return case


def route_message(ctx: Context, pk: int, by: str, *, case_id: str | None = None,
                  kind: str | None = None, parent: str | None = None) -> Routed:
    """Join mail ``pk`` to ``case_id``, or make a ``kind`` case of it (a report on ``parent``).

    Raise :class:`RouteError` for a choice that cannot be made (no such case,
    a report on an application that is not granted, ...).
    """
    if (case_id is None) == (kind is None):
        raise RouteError("Vælg enten en sag at knytte posten til eller en slags sag at oprette.")
    with transaction(ctx.factory) as s:
        msg = s.get(RawMessage, pk)
        if msg is None:
            raise RouteError(f"Der findes ingen post nr. {pk}.")
        chosen: dict[str, str] = {"by": by, "at": ctx.now().isoformat()}
        if case_id is not None:
            chosen["case_id"] = _case(s, case_id).case_id
        else:
            if kind not in CHOICES:
                raise RouteError("Posten kan kun oprettes som en ansøgning, en afrapportering eller "
                                 "kvartalsdokumentation, eller lægges til manuel behandling.")
            chosen["kind"] = kind
            if parent:
                if kind not in ON_A_GRANT:
                    raise RouteError("Kun en afrapportering eller kvartalsdokumentation hører til en "
                                     "bevilget ansøgning.")
                granted = _case(s, parent)
                if granted.kind != MailKind.APPLICATION or granted.status != CaseStatus.GRANTED:
                    raise RouteError(f"{granted.case_id} er ikke en bevilget ansøgning.")
                chosen["parent"] = granted.case_id
        msg.staff_route = chosen
        reset_for_reprocess([msg])
    outcome = process_one(ctx, pk)
    with ctx.factory() as s:
        msg = s.get(RawMessage, pk)
        if msg is None:  # it was there a moment ago; nothing deletes stored mail
            raise RouteError(f"Post nr. {pk} forsvandt under behandlingen.")
        case = s.get(Case, msg.case_pk) if msg.case_pk else None
        routed = Routed(outcome=(msg.outcome or outcome) if msg.state == MessageState.PROCESSED else outcome,
                        reason=msg.reason or msg.last_error or "", case_id=case.case_id if case else None)
    return routed


def expected(routed: Routed, case_id: str | None, kind: str | None) -> bool:
    """True when processing did what the person asked."""
    if case_id is not None:
        return routed.outcome == Outcome.FOLLOWUP
    return routed.outcome == Outcome.CASE and routed.case_id is not None and kind is not None
