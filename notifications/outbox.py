"""The outbox: every mail we will send, as a row written in the transaction that causes it.

A row is unique by its ``dedupe_key`` (``receipt:msg:<raw message id>``,
``reminder:<case id>:<reminder id>``, ``digest:<local date>:<address>``): a reprocess, a second worker or a crash
and retry never makes a second one. The whole message, Message-ID included,
is rendered when the row is made and stored in ``raw``, so what the drainer
sends (and sends again after a crash) is byte for byte the same mail.

Rows over a rate limit (per recipient, per recipient domain, or all mail to
applicants together, each per hour) are still written, in state ``suppressed``
with the reason in ``last_error``, so staff can see them. Forged senders at one
domain, or at many, cannot turn the outbox into a spam cannon.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifications import policy
from notifications.render import Rendered
from store.models import OutboxMessage
from store.words import OutboxPurpose, OutboxState

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Limits:
    """The politeness limits of the outbox (plain values from the settings)."""

    max_per_recipient_per_hour: int = 5
    max_receipt_age_hours: float = 72.0
    max_per_domain_per_hour: int = 20
    max_per_hour: int = 200  # every mail to applicants together (not the staff digest)


@dataclass(frozen=True)
class Sent:
    """Mails made in the last hour that count against the limits (suppressed ones do not)."""

    recipient: int
    domain: int
    total: int


def _last_hour(now: dt.datetime) -> Any:
    return (OutboxMessage.created_at > now - dt.timedelta(hours=1),
            OutboxMessage.state != OutboxState.SUPPRESSED)


def sent_counts(session: Session, recipient: str, now: dt.datetime) -> Sent:
    """How many mails ``recipient``, its domain and all applicants got from us in the hour before ``now``."""
    recipient = recipient.strip().lower()
    domain = recipient.rsplit("@", 1)[-1]
    to_applicants = OutboxMessage.purpose != OutboxPurpose.DIGEST

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(*_last_hour(now), *where)) or 0

    return Sent(recipient=sent_last_hour(session, recipient, now),
                domain=count(to_applicants, OutboxMessage.recipient.endswith("@" + domain, autoescape=True)),
                total=count(to_applicants))


def rate_reason(sent: Sent, limits: Limits, recipient: str) -> str | None:
    """Why one more mail to ``recipient`` would pass a limit, or None."""
    decision = policy.rate_decision(sent.recipient, limits.max_per_recipient_per_hour, recipient)
    if not decision.send:
        return decision.reason
    domain = recipient.rsplit("@", 1)[-1]
    if sent.domain >= limits.max_per_domain_per_hour:
        return (f"rate limit: {domain} already has {sent.domain} mail(s) from us in the last hour "
                f"(limit {limits.max_per_domain_per_hour} per domain)")
    if sent.total >= limits.max_per_hour:
        return f"rate limit: {sent.total} mails to applicants in the last hour (limit {limits.max_per_hour})"
    return None


def find(session: Session, dedupe_key: str) -> OutboxMessage | None:
    """The row with this key, if one was made."""
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))


def sent_last_hour(session: Session, recipient: str, now: dt.datetime) -> int:
    """How many mails (pending, sent or failed, not suppressed) ``recipient`` got in the hour before ``now``."""
    return session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == recipient.strip().lower(),
            OutboxMessage.created_at > now - dt.timedelta(hours=1),
            OutboxMessage.state != OutboxState.SUPPRESSED,
        )
    ) or 0


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    purpose: str,
    recipient: str,
    rendered: Rendered,
    now: dt.datetime,
    limits: Limits | None,
    case_pk: int | None = None,
    message_pk: int | None = None,
) -> tuple[OutboxMessage, bool]:
    """Write the row for one mail in the caller's transaction; return (row, True if new).

    The rate limits (recipient, domain, all) are applied here: over one, the row is
    made ``suppressed``. ``limits=None`` means no rate limit, for mail that is
    bounded by its dedupe key and goes to our own people (the staff digest:
    one per address and day). The recipient is stored lower-cased, as the
    rate limit counts it.
    """
    existing = find(session, dedupe_key)
    if existing is not None:
        return existing, False
    recipient = recipient.strip().lower()
    if limits is None:
        decision = policy.Decision(policy.SEND)
    else:
        why = rate_reason(sent_counts(session, recipient, now), limits, recipient)
        decision = policy.Decision(policy.SUPPRESS, why) if why else policy.Decision(policy.SEND)
    row = OutboxMessage(
        dedupe_key=dedupe_key, purpose=purpose, case_pk=case_pk, message_pk=message_pk,
        recipient=recipient, message_id=rendered.message_id, subject=rendered.subject,
        raw=rendered.raw, state=OutboxState.PENDING if decision.send else OutboxState.SUPPRESSED, attempts=0,
        next_attempt_at=now if decision.send else None, last_error=decision.reason,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker made the same row just now
        found = find(session, dedupe_key)
        if found is None:
            raise
        return found, False
    if not decision.send:
        log.warning("outbox: %s to %s suppressed: %s", purpose, recipient, decision.reason)
    return row, True


def rows_for_case(session: Session, case_pk: int) -> list[OutboxMessage]:
    """Every outbox row of a case, oldest first."""
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.case_pk == case_pk).order_by(OutboxMessage.id)
    ))
