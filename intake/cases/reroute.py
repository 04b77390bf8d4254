"""A person sends a stored mail its way: as an application, as a report, or to triage.

Routing decides by the subject; when it got a mail wrong, or a mail was
quarantined and a person has looked at it, :func:`reroute` runs the case step on
the stored bytes with the kind the person chose. Used by ``quarantine release
ID --as KIND``. (The staff web page of issue #12 builds the same choice, kept on
the message so that a later ``reprocess`` keeps it; the two meet when merged.
Until then a ``reprocess`` routes such a mail by its subject again.)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake import routing
from intake.cases.pipeline import Context, _finish, _record_case, reset_for_reprocess
from parsers.mime import parse_mail
from store.models import RawMessage
from store.words import MailKind, Outcome

#: What a person may make of a mail.
KINDS = (MailKind.APPLICATION, MailKind.REPORT, Outcome.TRIAGE)


def reroute(session: Session, ctx: Context, message: RawMessage, kind: str, by: str = "the operator") -> str:
    """Process ``message`` as ``kind`` in the caller's transaction, whatever its subject says.

    Returns the outcome (``case``, or ``triage`` for a report that matches no
    granted application, with the reason on the message). Raises whatever the
    case step raises; the caller's transaction then leaves the message as it was.
    """
    if kind not in KINDS:
        raise ValueError(f"a mail can be made an application, a report or triage, not {kind!r}")
    reset_for_reprocess([message])
    if kind == Outcome.TRIAGE:
        return _finish(message, ctx, Outcome.TRIAGE, f"put in triage by {by}")
    mail = parse_mail(message.raw)
    message.subject = mail.subject[:2000]
    message.sender = mail.from_addr
    route = routing.Route(Outcome.CASE, f"made {kind} by {by}", kind=MailKind(kind))
    outcome, reason = _record_case(session, ctx, message, mail, route)
    return _finish(message, ctx, outcome, reason)
