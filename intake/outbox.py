"""Wiring the worker to ``notifications``: receipts on case changes, the drain, reminders.

``notifications`` never imports the worker, so this module turns settings,
the pool and a case change into the plain values it takes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from intake import tokens
from intake.cases.pipeline import CaseChange, Context
from intake.errors import ConfigError, TemporaryFailure
from intake.pool import Pool, grant_conditions
from intake.routing import reply_base
from intake.secrets import OAuth2Settings
from intake.settings import Settings
from notifications import documentation, reminders, senderauth
from notifications.drain import DrainReport, DrainSettings, drain
from notifications.outbox import Limits
from notifications.receipts import Incoming, ReceiptSetup, queue_receipt
from notifications.render import PoolFacts, Sender, subject_words, template_exists
from notifications.smtp import FileSender, LoginRefused, SmtpConfig, SmtpSender, Unreachable
from notifications.smtp import Sender as DeliverySender
from store.db import transaction
from store.words import CaseEventKind, MailKind, OutboxState

log = logging.getLogger(__name__)

# One drain at a time per worker (the after-poll job and the scheduled ones may overlap);
# several workers on PostgreSQL are kept apart by the drainer's claim.
_drain_lock = threading.Lock()

# Case changes that get a receipt. A follow-up gets none: see notifications/receipts.py.
RECEIPT_CHANGES = (CaseEventKind.CREATED, CaseEventKind.SUBMISSION)


class Wired(Protocol):
    """What the jobs here need of the wired worker (``intake.app.App``, a layer above)."""

    settings: Settings
    pool: Pool
    context: Context


def pool_facts(pool: Pool) -> PoolFacts:
    """The pool as the templates see it."""
    def first_subject(kind: str) -> str:
        return next((k.subjects[0] for k in pool.kinds if k.kind == kind and k.subjects), "")

    contact, docs = pool.contact, pool.documentation
    return PoolFacts(name=pool.name, owner=pool.owner, inbox=pool.inbox, timezone=pool.timezone,
                     dates=dict(pool.dates), assessment=pool.assessment,
                     report_subject=first_subject(MailKind.REPORT),
                     parts={part.key: part.name for part in pool.report.parts},
                     phone=contact.phone if contact else "", hours=contact.hours if contact else "",
                     privacy_url=contact.privacy_url if contact else "",
                     handling_days=contact.handling_days if contact else 0,
                     documentation_parts={p.key: p.name for p in docs.spec.parts} if docs else {},
                     documentation_required=docs.required if docs else (),
                     documentation_subject=first_subject(MailKind.DOCUMENTATION),
                     reminder_days=docs.reminder_days if docs else 0,
                     conditions=grant_conditions(pool))


def sender_identity(settings: Settings, pool: Pool) -> Sender:
    """Who our mails come from, where answers go (the pool's inbox unless ``reply_to`` is set), and
    the inbox our ``X-Loop`` header names."""
    o = settings.outbox
    return Sender(from_address=o.from_address, from_name=o.from_name, reply_to=o.reply_to or pool.inbox,
                  loop=pool.inbox)


def receipt_setup(settings: Settings, pool: Pool) -> ReceiptSetup:
    """Who we are, the pool and the limits, from the settings."""
    o = settings.outbox
    us = sender_identity(settings, pool)
    return ReceiptSetup(
        sender=us,
        pool=pool_facts(pool),
        limits=Limits(max_per_recipient_per_hour=o.max_per_recipient_per_hour,
                      max_receipt_age_hours=o.max_receipt_age_hours,
                      max_per_domain_per_hour=o.max_per_domain_per_hour, max_per_hour=o.max_per_hour),
        own_addresses=frozenset(a.lower() for a in (us.from_address, us.reply_to, pool.inbox) if a),
    )


def check_sender(change: CaseChange, trusted_authserv_id: str | None) -> senderauth.SenderCheck:
    """What the inbox's mail server said about the change's sender; recorded on the case when
    the mail is from the case's own sender (the address reminders go to)."""
    mail, case = change.mail, change.case
    found = senderauth.check(mail.headers, mail.from_addr, trusted_authserv_id)
    if change.kind == CaseEventKind.CREATED or (mail.from_addr and mail.from_addr == case.sender):
        if case.sender_auth != found.auth:
            case.sender_auth = found.auth
            if found.blocks_mail:
                log.warning("case %s: sender %s not verified: %s", case.case_id, mail.from_addr, found.reason)
    return found


def make_receipt_hook(context: Context) -> Callable[[Session, CaseChange], None]:
    """The case-change hook that records the sender's verification and writes a receipt row,
    in the same transaction as the case."""
    setup = receipt_setup(context.settings, context.pool)
    trusted = context.settings.outbox.trusted_authserv_id

    def receipt_hook(session: Session, change: CaseChange) -> None:
        found = check_sender(change, trusted)
        if change.kind not in RECEIPT_CHANGES:
            return
        mail, msg = change.mail, change.message
        incoming = Incoming(
            message_pk=msg.id, message_id=mail.message_id, references=list(mail.references),
            headers=mail.headers, content_type=mail.content_type, arrived_at=msg.internaldate,
            subject=mail.subject, from_addr=mail.from_addr, from_name=mail.from_name,
            sender_problem=mail.sender_problem,
            unverified=f"the sender is not verified: {found.reason}" if found.blocks_mail else None,
            subject_base=reply_base(mail.subject, context.pool.case_prefix, subject_words()),
        )
        try:
            with session.begin_nested():
                row = queue_receipt(session, change.case, change.submission, incoming, setup, context.now())
            if row is not None and row.state == OutboxState.PENDING:
                log.info("message %d: receipt to %s queued as outbox %d", msg.id, row.recipient, row.id,
                         extra={"mail": msg.id, "case_id": change.case.case_id, "outbox": row.id})
        except SQLAlchemyError:
            raise  # the database is in trouble: let the message be retried as a whole
        except Exception as exc:  # a receipt we cannot make must never cost the case
            log.exception("case %s: receipt could not be made", change.case.case_id)
            change.case.receipts_suppressed = f"no receipt: it could not be made ({type(exc).__name__}: {exc})"[:2000]

    return receipt_hook


def smtp_sender(settings: Settings) -> SmtpSender | None:
    """The SMTP sender when ``[outbox] mode = "smtp"``, else None."""
    o = settings.outbox
    if o.mode != "smtp" or o.smtp is None:
        return None
    s = o.smtp
    return SmtpSender(SmtpConfig(
        host=s.host, port=s.port, security=s.security, username=s.username,
        password=s.password() if s.username and s.auth == "password" else None,
        timeout_seconds=s.timeout_seconds, envelope_from=o.from_address, auth=s.auth,
        token=smtp_token(s.oauth2, s.username or "") if s.oauth2 is not None else None,
    ))


def smtp_token(cfg: OAuth2Settings, username: str) -> Callable[[bool], str]:
    """The token callable for the SMTP sender: the worker's errors as the sender's.

    A token that cannot be had is an outage for the drainer (the mail waits), or a
    refused login when the set-up is wrong; ``notifications`` knows nothing of ours.
    """
    provider = tokens.provider_for(cfg, username)

    def token(fresh: bool) -> str:
        try:
            return provider.get("[outbox.smtp]", fresh=fresh).value
        except TemporaryFailure as exc:
            raise Unreachable(str(exc)) from None
        except ConfigError as exc:
            raise LoginRefused(str(exc)) from None

    return token


def make_sender(settings: Settings) -> DeliverySender:
    """The SMTP sender, or the file sender of the embedded default."""
    return smtp_sender(settings) or FileSender(settings.outbox.dir)


def drain_settings(settings: Settings) -> DrainSettings:
    """Attempts and backoff from the settings (``[outbox] max_attempts``, ``[schedule]``)."""
    return DrainSettings(
        max_attempts=settings.outbox.max_attempts,
        backoff_seconds=settings.schedule.retry_base_seconds,
        backoff_max_seconds=settings.schedule.retry_max_seconds,
        lease_seconds=settings.outbox.send_lease_seconds,
    )


def drain_outbox(app: Wired) -> DrainReport:
    """Send what is due in the outbox now."""
    with _drain_lock:
        report = drain(app.context.factory, make_sender(app.settings), app.context.now,
                       drain_settings(app.settings))
    if report.sent or report.retrying or report.failed or report.held:
        log.info("%s", report)
    return report


def reminder_rules(pool: Pool) -> list[reminders.Rule]:
    """The pool file's reminders as plain rules; ConfigError if one cannot be sent."""
    rules = []
    for r in pool.reminders:
        if r.applies_to not in reminders.APPLIES_TO:
            raise ConfigError(f"{pool.source}: reminder '{r.id}': applies_to must be one of "
                              f"{', '.join(reminders.APPLIES_TO)}, not {r.applies_to!r}")
        for ext in ("txt", "html"):
            if not template_exists(f"reminder-{r.id}.{ext}.j2"):
                raise ConfigError(f"{pool.source}: reminder '{r.id}' has no template "
                                  f"config/templates/reminder-{r.id}.{ext}.j2")
        rules.append(reminders.Rule(r.id, r.deadline, r.days, r.applies_to))
    return rules


def remind(app: Wired, dry_run: bool = False) -> list[reminders.Planned]:
    """Queue the reminders due now (in one transaction), or only list them with ``dry_run``:
    the pool file's ``[[reminders]]``, then a quarter's documentation still missing."""
    setup = receipt_setup(app.settings, app.pool)
    rules = reminder_rules(app.pool)
    docs = app.pool.documentation

    def run(s: Session) -> list[reminders.Planned]:
        now = app.context.now()
        planned = reminders.run(s, rules, setup, now, dry_run=dry_run)
        if docs is not None:
            planned += documentation.remind(s, app.pool.quarters, docs.reminder_days, setup, now, dry_run)
        return planned

    if dry_run:
        with app.context.factory() as s:
            planned = run(s)
            s.rollback()
        return planned
    with transaction(app.context.factory) as s:
        return run(s)


def remind_and_drain(app: Wired) -> None:
    """The scheduled reminder job: queue what is due, then send it."""
    remind(app)
    drain_outbox(app)


def digest_job(app: Wired) -> None:
    """The scheduled digest: sent once a day after ``schedule.digest_hour_local`` (default 7)."""
    from notifications import digest

    outbox = app.settings.outbox
    hour = app.settings.schedule.digest_hour_local
    with transaction(app.context.factory) as s:
        queued = digest.run_scheduled(s, app.pool, app.context.now(), outbox.staff,
                                      sender_identity(app.settings, app.pool), hour,
                                      web_url=app.settings.web.base_url)
    if queued is not None:
        log.info("digest queued for %d staff address(es)", len(queued))
