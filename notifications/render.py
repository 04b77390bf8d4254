"""Rendering mails: Jinja2 templates from ``config/templates`` and the MIME message around them.

Templates are data (Danish, text and HTML). This module gives them the Danish
formatting filters of ``parsers.danish`` (``dato``, ``kr``, ``tal``) and builds the finished message with the
headers an automatic answer must carry (RFC 3834).

Every header value we write is made safe here, whatever the interpreter's
email package does with it (CVE-2024-6923: before 3.11.10/3.12.5 it wrote an
encoded word's CR/LF into the header as a real line break): control
characters are taken out (:func:`header_text`), ``=?`` can no longer start an
encoded word, addresses must be plain ``local@domain``, Message-IDs printable
ASCII; and the finished header block is checked to hold exactly the headers
we set, each on lines of its own.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import jinja2

from parsers.addresses import plain_address
from parsers.danish import date_da, kroner, number_da

_MSGID = re.compile(r"<[!-;=?-~]{1,250}>")
_BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
MAX_REFERENCES = 10  # the first and the latest Message-IDs of a thread


class UnsafeHeader(ValueError):
    """A header value that cannot be made safe (an address that is no plain address), or a
    finished message whose header block is not what we built."""


def header_text(value: str | None, limit: int | None = None) -> str:
    """``value`` as safe header text: control characters (C0, C1, format characters, line and
    paragraph separators) out, whitespace collapsed, ``=?`` split so no encoded word can start,
    cut to ``limit`` characters with "…"."""
    out = []
    for ch in value or "":
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category[0] != "C":
            out.append(ch)
    text = " ".join("".join(out).split()).replace("=?", "= ?")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def display_name(name: str | None, limit: int = 80) -> str:
    """A sender's display name fit to greet them with, or "" when it holds what looks like an
    address (``victim@example.com <victim@example.com>`` is no name, and no address of ours)."""
    text = header_text(name, limit)
    return "" if any(ch in text for ch in "@<>") else text


def _address(addr: str, what: str) -> str:
    found = plain_address(addr)
    if found is None:
        raise UnsafeHeader(f"{what} is not a plain address: {header_text(addr, 80)!r}")
    return found


def _check_header_block(raw: bytes, names: list[str]) -> None:
    """The serialised header block holds exactly ``names``, every line ending CRLF (no header the
    email package made from a value, whatever its release)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    if _BARE_LINE_END.search(head):
        raise UnsafeHeader("a header holds a bare line break")
    found = [line.split(b":", 1)[0].decode("ascii", "replace").lower()
             for line in head.split(b"\r\n") if line and line[:1] not in (b" ", b"\t")]
    expected = [n.lower() for n in names]
    if sorted(found) != sorted(expected):
        raise UnsafeHeader(f"the header block has {sorted(found)}, not {sorted(expected)}")


class PoolCalendar(Protocol):
    """The pool's name, time zone and dates: what the digest needs (a PoolFacts or the pool itself)."""

    @property
    def name(self) -> str:
        """The pool's name."""

    @property
    def timezone(self) -> ZoneInfo:
        """The zone the pool's dates and times are in."""

    @property
    def dates(self) -> dict[str, dt.date]:
        """The pool's dates by key (``application_deadline`` ...)."""


@dataclass(frozen=True)
class PoolFacts:
    """What the templates need to know about the pool (plain values, no intake objects)."""

    name: str
    owner: str
    inbox: str
    timezone: ZoneInfo
    dates: dict[str, dt.date]
    assessment: str
    report_subject: str = ""
    parts: dict[str, str] = field(default_factory=dict)  # report part key -> Danish name
    # how to reach us and how soon we answer (pool file [contact]): the end of every letter
    phone: str = ""
    hours: str = ""
    privacy_url: str = ""
    handling_days: int = 0
    documentation_parts: dict[str, str] = field(default_factory=dict)  # part key -> Danish name
    documentation_required: tuple[str, ...] = ()
    documentation_subject: str = ""  # what a grantee writes in the subject ("Dokumentation")
    reminder_days: int = 0  # documentation is reminded this many days after a quarter ends
    conditions: tuple[str, ...] = ()  # a grant's conditions, as the grant letter lists them


@dataclass(frozen=True)
class Sender:
    """Who our mails come from and where answers go."""

    from_address: str
    from_name: str
    reply_to: str
    loop: str = ""  # the inbox our mail names in X-Loop, so that it is known when it comes back

    @property
    def domain(self) -> str:
        """The domain our Message-IDs are made in."""
        return self.from_address.rsplit("@", 1)[-1]


@dataclass
class Rendered:
    """A finished mail: its Message-ID, subject and exact bytes (CRLF line ends)."""

    message_id: str
    subject: str
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    """Danish names for form fields, attachment roles and file types (``config/templates/labels.da.toml``)."""
    text = resources.files("config").joinpath("templates", "labels.da.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def subject_words() -> tuple[str, ...]:
    """The words our subjects start with after the case tag (``Kvittering`` …): a reply's
    subject loses them before ours is put in front (``labels.da.toml [subjects]``)."""
    return tuple(labels()["subjects"].values())


def one_line(text: str | None, n: int) -> str:
    """``text`` on one line of at most ``n`` characters, cut with "…" (a traceback must not fill a view)."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def template_exists(name: str) -> bool:
    """True if ``config/templates/<name>`` exists."""
    return resources.files("config").joinpath("templates", name).is_file()


def _load(name: str) -> str:
    res = resources.files("config").joinpath("templates", name)
    if not res.is_file():
        raise jinja2.TemplateNotFound(name)
    return res.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment over ``config/templates`` (HTML templates autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["dato"] = date_da
    env.filters["kr"] = kroner
    env.filters["tal"] = number_da
    return env


def tidy_text(text: str) -> str:
    """A letter's text with no space at a line's end and never more than one empty line in a row
    (the templates' blocks and macros leave some behind)."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def render_letter(base: str, context: dict[str, Any]) -> tuple[str, str]:
    """:func:`render_pair` for a mail to an applicant or grantee: its text tidied (:func:`tidy_text`)."""
    text, html = render_pair(base, context)
    return tidy_text(text), html


def render_pair(base: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render ``<base>.txt.j2`` and ``<base>.html.j2`` with the same context."""
    env = environment()
    return (env.get_template(f"{base}.txt.j2").render(**context),
            env.get_template(f"{base}.html.j2").render(**context))


def _loop_header(msg: EmailMessage, sender: Sender) -> None:
    """``X-Loop: <our inbox>`` (as ticket systems and procmail write it): mail that comes back
    with it is ours, and routing ignores it instead of answering it."""
    if sender.loop:
        msg["X-Loop"] = sender.loop


def build_message(
    *,
    sender: Sender,
    to_addr: str,
    to_name: str | None,
    subject: str,
    text: str,
    html: str,
    now: dt.datetime,
    auto_submitted: str,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
) -> Rendered:
    """The complete message with a Message-ID made now, so every retry carries the same one.

    Every value is made header-safe here (see the module docstring); an address that is no
    plain address raises :class:`UnsafeHeader` (nothing is sent to it)."""
    subject = header_text(subject, 200)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(header_text(sender.from_name, 100), addr_spec=_address(sender.from_address, "From"))
    msg["To"] = Address(display_name(to_name), addr_spec=_address(to_addr, "To"))
    msg["Reply-To"] = Address(header_text(sender.from_name, 100), addr_spec=_address(sender.reply_to, "Reply-To"))
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    message_id = make_msgid(domain=sender.domain)
    msg["Message-ID"] = message_id
    parent = _MSGID.fullmatch(in_reply_to or "")
    if parent:
        msg["In-Reply-To"] = parent.group(0)
    refs = list(dict.fromkeys(r for r in (references or []) if r and _MSGID.fullmatch(r)))
    if len(refs) > MAX_REFERENCES:
        refs = [refs[0], *refs[-(MAX_REFERENCES - 1):]]
    if refs:
        msg["References"] = " ".join(refs)
    # RFC 3834: mark the mail automatic so well-behaved responders stay quiet,
    # and ask Exchange not to send out-of-office answers to it.
    msg["Auto-Submitted"] = header_text(auto_submitted)
    msg["X-Auto-Response-Suppress"] = "All"
    _loop_header(msg, sender)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    raw = msg.as_bytes(policy=email.policy.SMTP)
    _check_header_block(raw, [*msg.keys()])
    return Rendered(message_id=message_id, subject=subject, raw=raw)
