"""Putting a mail in the outbox: build the MIME message once and store it as a row.

A stand-in for the ``notify`` branch's ``notifications/outbox.py``: kept small
so the two can be merged (same row shape, same idea). The Message-ID is fixed
when the row is made, so a resend after a crash is recognisable; the dedupe key
is unique, so asking twice puts the mail in the outbox once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import OutboxMessage

PENDING = "pending"


def message_id_for(dedupe_key: str, from_address: str) -> str:
    """A Message-ID derived from the dedupe key: the same mail always gets the same id."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(*, from_address: str, from_name: str, recipient: str, subject: str,
                  text: str, html: str | None, message_id: str, now: dt.datetime,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML)."""
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, from_address))
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def enqueue(session: Session, dedupe_key: str, purpose: str, recipient: str, subject: str,
            text: str, html: str | None, now: dt.datetime, *, from_address: str,
            from_name: str = "", case_pk: int | None = None, message_pk: int | None = None,
            headers: dict[str, str] | None = None) -> OutboxMessage | None:
    """Put one mail in the outbox unless its dedupe key is there already; return the new row or None."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    message_id = message_id_for(dedupe_key, from_address)
    msg = build_message(from_address=from_address, from_name=from_name, recipient=recipient,
                        subject=subject, text=text, html=html, message_id=message_id, now=now,
                        headers=headers)
    row = OutboxMessage(
        dedupe_key=dedupe_key, purpose=purpose, case_pk=case_pk, message_pk=message_pk,
        recipient=recipient, message_id=message_id, subject=subject, raw=msg.as_bytes(),
        state=PENDING, attempts=0, next_attempt_at=now, created_at=now,
    )
    try:
        with session.begin_nested():  # another worker may insert the same key meanwhile
            session.add(row)
    except IntegrityError:
        return None
    return row
