"""Helpers for the web page's tests: a round of real mail through the real pipeline, a staff
account, and a client that logs in and sends the CSRF token the way a browser would."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

from sqlalchemy import select

from intake.documents.samples import demo_mail, make_mail, write_maildir
from intake.service import poll_once
from store import accounts
from store.db import transaction
from store.models import OutboxMessage, RawMessage
from store.words import MessageState, OutboxState

USER, PASSWORD = "mette", "rigtig-hemmelig-42"
TZ = dt.timezone(dt.timedelta(hours=2))

QUESTION = "Hej\n\nVores CVR-nummer er 28123458, ikke 28123451. Kan I rette det?\n\nJens"


def question_mail() -> bytes:
    """Jens answers the receipt of PSV-2025-0002 with a correction in the text, no attachments."""
    return make_mail("SV: Kvittering [PSV-2025-0002]", sender="Jens Ølgaard <jens@bf-syd.dk>",
                     domain="bf-syd.dk", body=QUESTION, date=dt.datetime(2025, 7, 26, 9, 0, tzinfo=TZ))


def seed(app, workdir) -> dict[str, int]:
    """Run the demo's application round, a reply without attachments, one quarantined mail and
    one receipt the rate limit held back. Returns the message numbers tests need."""
    from intake.documents.samples import SampleMail

    mails = demo_mail()
    mails.append(SampleMail("reply-question", question_mail(), dt.datetime(2025, 7, 26, 9, 0, tzinfo=TZ)))
    write_maildir(workdir / "mail", mails)
    poll_once(app)
    with transaction(app.context.factory) as s:
        ids = {m.subject: m.id for m in s.scalars(select(RawMessage))}
        broken = make_mail("Ansøgning med ødelagt bilag", sender="ukendt@example.org", domain="example.org",
                           date=dt.datetime(2025, 7, 22, 8, 0, tzinfo=TZ))
        bad = RawMessage(sha256="0" * 64, size=len(broken), raw=broken, message_id="<broken@example.org>",
                         internaldate=dt.datetime(2025, 7, 22, 6, 0, tzinfo=dt.UTC),
                         stored_at=dt.datetime(2025, 7, 22, 6, 0, tzinfo=dt.UTC),
                         state=MessageState.QUARANTINED, attempts=3, subject="Ansøgning med ødelagt bilag",
                         sender="ukendt@example.org", last_error="MemoryError: a PDF that never ends")
        s.add(bad)
        s.flush()
        receipt = s.scalar(select(OutboxMessage).order_by(OutboxMessage.id))
        receipt.state, receipt.last_error = OutboxState.SUPPRESSED, "rate limit: jens@bf-syd.dk already has 5 mail(s) from us in the last hour (limit 5)"
        return {"question": ids["Spørgsmål om ansøgning"], "reply": ids["SV: Kvittering [PSV-2025-0002]"],
                "quarantined": bad.id, "outbox": receipt.id}


def add_user(app, name: str = USER, password: str = PASSWORD) -> None:
    """A staff account on the test database."""
    with transaction(app.context.factory) as s:
        accounts.add_user(s, name, password, app.context.now())


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return unescape(found.group(1))


def login(client, name: str = USER, password: str = PASSWORD):
    """Log in as a person would: open the login page, post the form with its token."""
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf_of(page.text),
                                       "next": "/"}, follow_redirects=False)


def post(client, url: str, data: dict, page: str = "/"):
    """Post a form with the CSRF token of ``page`` (as the browser would, from that page)."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf": token}, follow_redirects=False)
