"""Read one raw e-mail into plain data: headers, bodies and attachments.

mail-parser does the MIME work; when it gives up on a broken message we fall
back to the standard library's parser, so every message yields something.

Every byte is hostile. Before the parser builds anything, the mail's shape is
measured (:mod:`parsers.mimeshape`): a header block, a nesting depth or a
number of parts beyond :class:`~parsers.limits.SizeLimits` means only the
headers are read, and a finding says why (codes below). Addresses are parsed
before their display names are decoded (:mod:`parsers.addresses`); a From
that does not name exactly one address leaves ``from_addr`` empty and says
why in ``sender_problem``. The decoded subject is cut at ``max_subject_chars``.

Problem codes of this reader (``ParsedMail.findings``) and their params:

========================  ======  =======================================
mail_header_too_large     None    {"size": Danish size, "limit": Danish size}
mail_too_deep             None    {"max_depth": int}
mail_too_many_parts       None    {"max_parts": int}
========================  ======  =======================================
"""

from __future__ import annotations

import base64
import email
import email.parser
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message

import mailparser

from parsers import addresses, danish, mimecut, mimeshape
from parsers.codes import Finding, ProblemCode, finding
from parsers.limits import DEFAULT, SizeLimits

# mail-parser logs every content type it does not know at ERROR; that is noise for us.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)

_MSGID_RE = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII only: they go into our headers
MAX_REFERENCES = 50  # the first and the latest: enough to find a thread, bounded for our headers


@dataclass
class ParsedAttachment:
    """One attachment: the name the sender gave it, its declared type and its bytes."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class ParsedMail:
    """What the rest of intake needs to know about one e-mail."""

    subject: str
    from_addr: str | None
    from_name: str | None
    to: list[str]  # shown to staff with the mail
    date_header: str | None  # the sender's Date: (shown; never used to judge time)
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    content_type: str
    headers: dict[str, list[str]]
    text: str
    html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # limits passed: only the headers were read
    sender_problem: str | None = None  # why from_addr is empty: no address, several, or unreadable

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def _undo_surrogates(value: str) -> str:
    """Headers with raw 8-bit bytes arrive as surrogate escapes: read them as UTF-8, else Latin-1."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_words(value: str | None) -> str:
    """Decode RFC 2047 encoded words; undecodable parts are kept as they are."""
    if value is None:
        return ""
    value = _undo_surrogates(str(value))
    try:
        decoded = str(make_header(decode_header(value)))
    except (LookupError, UnicodeDecodeError, ValueError, TypeError, AssertionError):
        return value
    return decoded


def _msgids(value: str | None) -> list[str]:
    ids: list[str] = _MSGID_RE.findall(value or "")
    return ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1):]]


def _raw_get(msg: Message, name: str) -> str | None:
    """A header's raw text (the compat32 getter wraps 8-bit text in Header objects)."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return str(value)
    return None


def _raw_all(msg: Message, name: str) -> list[str]:
    name = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == name]


def _headers(msg: Message) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in msg.raw_items():
        out.setdefault(str(key).lower(), []).append(_undo_surrogates(str(value)))
    return out


def _sender(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(display name, address, problem) of a From header: parsed, then the name decoded."""
    boxes, entries = addresses.mailboxes(value, decode_words)
    if entries == 0:
        return None, None, "the From header names no address"
    if entries > 1:
        return None, None, f"the From header names {entries} addresses"
    if not boxes:
        return None, None, "the From address cannot be read as a plain address"
    return boxes[0].name, boxes[0].address, None


def _stdlib_attachments(msg: Message, cut: mimecut.Cut | None = None) -> tuple[list[ParsedAttachment], str, str]:
    attachments: list[ParsedAttachment] = []
    text: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = part.get_filename()
        disposition = (part.get("Content-Disposition") or "").lower()
        try:
            decoded = part.get_payload(decode=True)  # bytes (or None) for a part that is not multipart
        except (ValueError, TypeError, AssertionError):
            decoded = None
        payload = decoded if isinstance(decoded, bytes) else b""
        if filename or disposition.startswith("attachment"):
            data = cut.restore(payload, lenient=True) if cut is not None else payload
            attachments.append(ParsedAttachment(decode_words(filename) or None, ctype, data))
        elif ctype == "text/html":
            html.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        elif ctype.startswith("text/"):
            try:
                text.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
            except LookupError:
                text.append(payload.decode("utf-8", "replace"))
    return attachments, "\n".join(text), "\n".join(html)


def _mailparser_attachments(mp: mailparser.MailParser, cut: mimecut.Cut | None = None) -> list[ParsedAttachment]:
    out = []
    for att in mp.attachments:
        payload = att.get("payload") or ""
        if att.get("binary"):
            data = base64.b64decode(payload)
            data = cut.restore(data) if cut is not None else data
        else:
            charset = att.get("charset") or "utf-8"
            try:
                data = payload.encode(charset, "replace")
            except LookupError:
                data = payload.encode("utf-8", "replace")
        out.append(ParsedAttachment(att.get("filename") or None, att.get("mail_content_type"), data))
    return out


FEED_CHUNK = 64 * 1024


def _parse_bytes(raw: bytes) -> Message:
    """``email.message_from_bytes``, fed in slices.

    The same parse (the feed parser sees the same text: ASCII with surrogate escapes, decoded
    per byte), without its two whole copies: the mail as one ``str`` and the ``StringIO``
    around it, which holds four bytes per character. For a 34 MB mail that was 270 of the
    parse's 296 MiB peak (tracemalloc, bench/RESULTS.md).
    """
    parser = email.parser.BytesFeedParser(policy=email.policy.compat32)
    view = memoryview(raw)
    for start in range(0, len(raw), FEED_CHUNK):
        parser.feed(bytes(view[start:start + FEED_CHUNK]))
    return parser.close()


def _too_large(raw: bytes, shape: mimeshape.Shape, sizes: SizeLimits) -> tuple[Message, Finding]:
    """The headers alone (cut at the limit) and the finding for a mail beyond a limit."""
    head_end, _ = mimeshape.header_end(raw)
    head = raw[:min(head_end, sizes.max_header_bytes)]
    if head_end > sizes.max_header_bytes:  # cut at the last whole line
        head = head[:head.rfind(b"\n") + 1]
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + b"\r\n", headersonly=True)
    if shape.breach == "header":
        found = finding(ProblemCode.MAIL_HEADER_TOO_LARGE, size=danish.size_da(shape.header_bytes),
                        limit=danish.size_da(shape.header_limit or sizes.max_header_bytes))
    elif shape.breach == "depth":
        found = finding(ProblemCode.MAIL_TOO_DEEP, max_depth=sizes.max_mime_depth)
    else:
        found = finding(ProblemCode.MAIL_TOO_MANY_PARTS, max_parts=sizes.max_mime_parts)
    return msg, found


def parse_mail(raw: bytes, sizes: SizeLimits = DEFAULT) -> ParsedMail:
    """Parse raw message bytes within ``sizes``. Never raises for malformed mail; defects are listed."""
    defects: list[str] = []
    findings: list[Finding] = []
    shape = mimeshape.measure(raw, sizes)
    cut = None
    if shape.breach is not None:
        msg, found = _too_large(raw, shape, sizes)
        findings.append(found)
    else:
        # large attachments are decoded from the raw bytes, not parsed (parsers/mimecut.py)
        cut = mimecut.cut(raw, sizes)
        try:
            msg = _parse_bytes(cut.slim if cut is not None else raw)
        except RecursionError:  # nested deeper than measured (the parser saw other boundaries)
            msg, found = _too_large(raw, mimeshape.Shape(0, sizes.max_mime_depth + 1, 0, "depth"), sizes)
            findings.append(found)
    defects.extend(type(d).__name__ for d in getattr(msg, "defects", []))
    headers = _headers(msg)
    raw_subject = _raw_get(msg, "Subject")
    # cut before decoding too: a megabyte of encoded words is not decoded to be thrown away
    raw_subject = raw_subject[:8 * sizes.max_subject_chars] if raw_subject is not None else None
    subject = " ".join(decode_words(raw_subject).split())[:sizes.max_subject_chars] if raw_subject is not None else ""
    from_name, from_addr, sender_problem = _sender(_raw_get(msg, "From"))
    if findings:
        attachments, text, html = [], "", ""
    else:
        try:
            mp = mailparser.MailParser(msg)  # reuse our parse: the stdlib parse is the costly part
            attachments = _mailparser_attachments(mp, cut)
            text = "\n".join(mp.text_plain)
            html = "\n".join(mp.text_html)
        except RecursionError:
            attachments, text, html = [], "", ""
            findings.append(finding(ProblemCode.MAIL_TOO_DEEP, max_depth=sizes.max_mime_depth))
        except MemoryError:  # the reading process's limit, not a broken file: the worker says so
            raise
        except Exception as exc:  # mail-parser fails on some broken MIME: fall back, note it
            defects.append(f"mailparser: {type(exc).__name__}")
            attachments, text, html = _stdlib_attachments(msg, cut)
    message_ids = _msgids(_raw_get(msg, "Message-ID"))
    return ParsedMail(
        subject=subject,
        from_addr=from_addr,
        from_name=from_name,
        to=[box.address for value in _raw_all(msg, "To")
            for box in addresses.mailboxes(value, decode_words)[0]],
        date_header=_raw_get(msg, "Date"),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=_msgids(_raw_get(msg, "In-Reply-To")),
        references=_msgids(" ".join(_raw_all(msg, "References"))),
        content_type=msg.get_content_type(),
        headers=headers,
        text=text,
        html=html,
        attachments=attachments,
        defects=defects,
        findings=findings,
        sender_problem=sender_problem,
    )
