"""A stored mail as staff read it: sender, subject, the text, the attachments.

The sender's HTML is never shown as HTML: it becomes plain text here, so a
mail cannot run script or load anything in the staff's browser. Attachments
are served inline only when they are PDFs by their content; everything else
is a download.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html.parser import HTMLParser

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsers.filetype import detect
from parsers.mime import ParsedAttachment, parse_mail
from store.models import Attachment, Case, RawMessage, Submission

MAX_TEXT = 200_000  # characters of a body shown; the rest is cut (a mail is hostile)


@dataclass(frozen=True)
class FileView:
    """One attachment of a mail, for a list."""

    index: int
    filename: str
    size: int
    kind: str  # detected by content: pdf, xlsx, ...


@dataclass(frozen=True)
class MailView:
    """What a person needs to read a mail."""

    sender: str
    sender_name: str
    to: str
    subject: str
    date_header: str
    text: str
    files: list[FileView]


class _Text(HTMLParser):
    """HTML to text: block elements become line breaks, script and style vanish."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body."""
    parser = _Text()
    parser.feed(html[: MAX_TEXT * 4])
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip()


def _kind(data: bytes) -> str:
    try:
        return detect(data)
    except Exception:  # a file we cannot even classify is still listed
        return "ukendt"


def view(raw: bytes) -> MailView:
    """Read a stored mail for display."""
    mail = parse_mail(raw)
    text = mail.text.strip() or html_to_text(mail.html)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[…]"
    files = [FileView(i, a.filename or f"vedhæftning-{i + 1}", len(a.data), _kind(a.data))
             for i, a in enumerate(mail.attachments)]
    # a From we could not read as one address is shown as written (cleaned), with why
    shown = mail.from_addr or " ".join("".join(ch if ch.isprintable() else " " for ch in mail.header("from") or "")
                                        .split())[:200]
    why = f" ({mail.sender_problem})" if mail.sender_problem and shown else ""
    return MailView(sender=shown, sender_name=(mail.from_name or "") + why,
                    to=", ".join(mail.to), subject=mail.subject, date_header=mail.date_header or "",
                    text=text, files=files)


def attachment(raw: bytes, index: int) -> ParsedAttachment | None:
    """The ``index``-th attachment of a stored mail, or None."""
    files = parse_mail(raw).attachments
    return files[index] if 0 <= index < len(files) else None


def attachment_bytes(session: Session, case: Case, row: Attachment) -> bytes | None:
    """The bytes of a case's attachment: found by hash in the case's mail, newest first.

    A form or budget carried over from an earlier mail is listed on the newer
    submission too; its bytes are in the earlier mail.
    """
    messages = session.scalars(
        select(RawMessage).join(Submission, Submission.message_pk == RawMessage.id)
        .where(Submission.case_pk == case.id).order_by(RawMessage.id.desc())
    )
    for msg in messages:
        for a in parse_mail(msg.raw).attachments:
            if hashlib.sha256(a.data).hexdigest() == row.sha256:
                return a.data
    return None
