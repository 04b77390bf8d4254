"""``quarantine list | show ID | release ID [--as KIND]``: mail the worker gave up on, for a person.

A mail is quarantined after ``[processing] max_attempts`` failed attempts. ``show``
says why and what the mail holds (headers, attachments, by their bytes) and
counts as a person having looked at it (``status`` stops calling it unhealthy);
``release`` processes it again after a fix, or, with ``--as``, as the kind of
mail the person says it is.
"""

from __future__ import annotations

import hashlib
import logging
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.app import App
from intake.cases.manual import RouteError, route_message
from intake.cases.pipeline import process_one, reset_for_reprocess
from intake.commands.views import _table, local, printable
from intake.errors import ConfigError
from parsers.filetype import detect
from parsers.mime import decode_words, parse_mail
from store import health
from store.db import transaction
from store.models import Case, MessageLocation, RawMessage
from store.words import MessageState

log = logging.getLogger(__name__)

SHOWN_HEADERS = ("from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
                 "references", "content-type", "auto-submitted", "authentication-results")


def _message(s: Session, ident: str) -> RawMessage:
    if not ident.isdigit():
        raise ConfigError(f"{ident!r} is not a message number (quarantine list shows them)")
    msg = s.get(RawMessage, int(ident))
    if msg is None:
        raise ConfigError(f"no stored message {ident}")
    return msg


def _from_and_subject(msg: RawMessage) -> tuple[str, str]:
    """Sender and subject; read from the stored headers when processing failed before it kept them."""
    if msg.sender is not None and msg.subject is not None:
        return msg.sender, msg.subject
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(bytes(msg.raw))
        sender = decode_words(headers.get("From"))
        return parseaddr(sender)[1] or sender, decode_words(headers.get("Subject"))
    except Exception:  # headers too broken to split: show nothing rather than fail the list
        return "", ""


def list_quarantine(app: App) -> str:
    """One line per quarantined mail."""
    with app.context.factory() as s:
        rows = []
        for m in health.quarantined(s):
            sender, subject = _from_and_subject(m)
            rows.append([str(m.id), local(m.internaldate, app.pool), str(m.attempts),
                         "yes" if m.quarantine_seen_at else "no", printable(sender, 30), printable(subject, 40),
                         printable(m.last_error, 60)])
    if not rows:
        return "no quarantined mail"
    return _table(["msg", "received", "tries", "seen", "sender", "subject", "last error"], rows)


def show(app: App, ident: str) -> str:
    """Why a mail is quarantined, its headers and attachments; marks it seen."""
    with transaction(app.context.factory) as s:
        msg = _message(s, ident)
        if msg.state == MessageState.QUARANTINED and msg.quarantine_seen_at is None:
            msg.quarantine_seen_at = app.context.now()
        places = s.scalars(select(MessageLocation).where(MessageLocation.message_pk == msg.id)).all()
        out = [f"Message {msg.id}: {msg.state}" + (f" after {msg.attempts} failed attempt(s)" if msg.attempts else ""),
               f"  received:   {local(msg.internaldate, app.pool)} ({app.pool.timezone})",
               f"  why:        {printable(msg.reason, 300) or '-'}",
               f"  last error: {printable(msg.last_error, 300) or '-'}",
               f"  stored:     {msg.size} bytes, sha256 {msg.sha256[:16]}…",
               *[f"  found in:   {p.account}/{printable(p.folder, 80)} UID {printable(p.uid, 80)}" for p in places]]
        raw = bytes(msg.raw)
    mail = parse_mail(raw)  # never raises: broken MIME gives defects
    out.append("headers:")
    for name in SHOWN_HEADERS:
        for value in mail.headers.get(name, []):
            out.append(f"  {name.title()}: {printable(decode_words(value), 300)}")
    if mail.defects:
        out.append(f"  (defects: {printable(', '.join(mail.defects), 200)})")
    out.append("attachments:" + ("" if mail.attachments else " none"))
    for a in mail.attachments:
        out.append(f"  - {printable(a.filename, 80) or '(no name)'}: {detect(a.data)} by its bytes, "
                   f"{len(a.data)} bytes, declared {printable(a.content_type, 60) or '-'}, "
                   f"sha256 {hashlib.sha256(a.data).hexdigest()[:16]}…")
    out.append(f"release: pulje-intake quarantine release {ident} [--as application|report|triage]")
    return "\n".join(out)


def release(app: App, ident: str, kind: str | None) -> str:
    """Process a quarantined mail again (as ``kind`` if given); what became of it."""
    ctx = app.context
    with transaction(ctx.factory) as s:
        msg = _message(s, ident)
        if msg.state != MessageState.QUARANTINED:
            raise ConfigError(f"message {msg.id} is not quarantined ({msg.state}); "
                              "pulje-intake reprocess runs processed mail again")
        pk = msg.id
        msg.quarantine_seen_at = None  # should it fail again, it is news again
        if kind is None:
            reset_for_reprocess([msg])
    if kind is None:
        outcome = process_one(ctx, pk)
    else:
        try:  # the choice stays on the message: a later reprocess keeps it
            outcome = route_message(ctx, pk, "the operator", kind=kind).outcome
        except RouteError as exc:  # nothing changed: the mail stays quarantined
            raise ConfigError(f"message {pk} could not be made {kind}; it stays quarantined: {exc}") from None
    with ctx.factory() as s:
        msg = s.get_one(RawMessage, pk)
        case = s.get(Case, msg.case_pk) if msg.case_pk else None
        if msg.state == MessageState.PROCESSED:
            where = f"{outcome} {case.case_id}" if case is not None else outcome
            return f"message {pk} released: {where}: {printable(msg.reason, 200)}"
        return (f"message {pk} failed again ({msg.state}, attempt {msg.attempts} of "
                f"{ctx.settings.processing.max_attempts}): {printable(msg.last_error, 200)}")
