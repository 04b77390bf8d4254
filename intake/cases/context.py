"""What processing needs from the outside world, and the reads it asks of the child process.

Recording a message's result runs in one transaction, but reading (in the
child, :mod:`intake.cases.reading`) must happen with no transaction open. So
recording asks :class:`Reads` for what it needs; a read not done yet raises
:class:`NeedRead`, the transaction is rolled back, the pipeline does the read
and records again from the start, now with that read at hand. The recording
that commits used only reads of exactly the inputs it asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from intake import routing
from intake.cases.reading import Reader, ReadFailed
from intake.extraction import AttachmentInfo, Extraction, describe_attachments, extract, texts_for
from intake.pool import Pool
from intake.rules import registry
from intake.settings import Settings
from parsers.codes import ProblemCode, finding
from parsers.fieldmap import load_fieldmap
from parsers.limits import SizeLimits
from parsers.mime import ParsedMail
from store.models import Case, RawMessage, Submission
from store.words import AttachmentRole, CaseEventKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseChange:
    """Handed to hooks (e.g. the outbox) inside the transaction that made the change."""

    kind: CaseEventKind  # CREATED, SUBMISSION or FOLLOWUP
    case: Case
    message: RawMessage
    mail: ParsedMail
    route: routing.Route
    submission: Submission | None = None


class NeedRead(BaseException):  # noqa: N818 - not an error: recording pauses for a read
    """Recording needs a read that is not done yet (a BaseException: no ``except Exception`` eats it)."""

    def __init__(self, key: Hashable, op: str, args: tuple[Any, ...], own: bool = False):
        super().__init__(op)
        self.key, self.op, self.args, self.own = key, op, args, own


class AnswersUnfinished(Exception):  # noqa: N818 - not an error: the mail waits its turn
    """The mail answers an earlier mail that is not processed yet (perhaps by another worker)."""

    def __init__(self, earlier_pk: int):
        super().__init__(f"it answers message {earlier_pk}, which is not processed yet")
        self.earlier_pk = earlier_pk


class MailUnreadable(Exception):
    """The message's own bytes could not be parsed within the limits."""


# Danish words for the limit a read breached, for the applicant's problem text.
_WHY_DA = {
    "memory": "de krævede mere hukommelse, end vi giver en enkelt mail",
    "cpu": "de krævede mere regnetid, end vi giver en enkelt mail",
    "time": "det tog længere tid, end vi giver en enkelt mail",
    "died": "læsningen af dem gik galt",
}


def _fingerprint(mail: ParsedMail) -> tuple[Hashable, ...]:
    """What identifies a mail's content for a read: its subject, text and attachments' hashes."""
    return (mail.subject, mail.from_addr, hashlib.sha256(mail.text.encode("utf-8", "replace")).hexdigest(),
            tuple(hashlib.sha256(a.data).hexdigest() for a in mail.attachments))


@dataclass
class Reads:
    """Reads of one message's processing, done in the child and kept for the next try to record."""

    reader: Reader
    pk: int  # the message being processed (for the log)
    done: dict[Hashable, Any] = field(default_factory=dict)

    def keep_parse(self, pk: int, sizes: SizeLimits, mail: ParsedMail) -> None:
        """Keep a parse read ahead of time (by a reader of the pool)."""
        self.done[("parse", pk, sizes)] = mail

    def keep_extract(self, mail: ParsedMail, kind: str, received_at: dt.datetime, result: Extraction) -> None:
        """Keep an extraction read ahead of time, as recording asks first for a ``kind`` mail."""
        self.done[("extract", kind, received_at, frozenset(), _fingerprint(mail))] = result

    def parse(self, pk: int, raw: bytes | bytearray | Callable[[], bytes | bytearray], sizes: SizeLimits,
              own: bool = False) -> ParsedMail:
        """The parsed mail of stored message ``pk`` (``own``: the message being processed).

        ``raw`` may be a function that loads the bytes: called only when the parse is not done yet.
        """
        key = ("parse", pk, sizes)
        if key not in self.done:
            raise NeedRead(key, "parse", (raw() if callable(raw) else raw, sizes), own)
        mail: ParsedMail = self.done[key]
        return mail

    def extract(self, ctx: Context, mail: ParsedMail, kind: str, received_at: dt.datetime,
                earlier_parts: Collection[str]) -> Extraction:
        """What the mail's attachments say, read as a ``kind`` mail."""
        key = ("extract", kind, received_at, frozenset(earlier_parts), _fingerprint(mail))
        if key not in self.done:
            raise NeedRead(key, "extract", (ctx, mail, kind, received_at, frozenset(earlier_parts)))
        result: Extraction = self.done[key]
        return result

    def fetch(self, need: NeedRead) -> None:
        """Do a read in the child (no transaction open); a breach becomes a problem on the case."""
        if need.op == "parse":
            raw, sizes = need.args
            try:
                self.done[need.key] = self.reader.parse(raw, sizes)
            except ReadFailed as exc:
                if need.own:
                    raise MailUnreadable(f"reading the mail stopped ({exc.limit} limit): {exc}") from None
                raise
            return
        ctx, mail, kind, received_at, earlier = need.args
        try:
            self.done[need.key] = self.reader.extract(mail, kind, received_at, earlier)
        except ReadFailed as exc:
            self.done[need.key] = unread_extraction(ctx, mail, kind, received_at, earlier, exc, self.pk)


def unread_extraction(ctx: Context, mail: ParsedMail, kind: str, received_at: dt.datetime,
                      earlier: Collection[str], failure: ReadFailed, pk: int) -> Extraction:
    """The case of a mail whose attachments breached a limit: listed, not read, and a problem saying so.

    The rules run here on the mail without its attachments (nothing to read, so safe in the
    worker), with the breach as a finding of the mail: the applicant is told what to send."""
    log.warning("message %d: reading its attachments stopped (%s limit): %s; the case says so",
                pk, failure.limit, failure, extra={"mail": pk})
    breach = finding(ProblemCode.ATTACHMENTS_NOT_READ, why=_WHY_DA.get(failure.limit, _WHY_DA["died"]))
    bare = dataclasses.replace(mail, attachments=[], findings=[*mail.findings, breach])
    result = extract(bare, kind, ctx, received_at, earlier)
    if not any(p["code"] == ProblemCode.ATTACHMENTS_NOT_READ for p in result.problems):
        result.problems.append(texts_for(load_fieldmap(), ctx.pool).render(breach))
        result.status = registry.status_for(result.problems, result.late)
    infos: list[AttachmentInfo] = describe_attachments(mail)
    for info in infos:
        info.role = AttachmentRole.OTHER
    result.attachments = infos
    return result


@dataclass
class Context:
    """What processing needs from the outside world, passed in."""

    settings: Settings
    pool: Pool
    factory: sessionmaker[Session]
    now: Callable[[], dt.datetime]
    hooks: list[Callable[[Session, CaseChange], None]] = field(default_factory=list)
    # warm readers kept across passes (the service's); empty: each pass starts its own
    readers: list[Reader] = field(default_factory=list)
    # the reads of the message in hand (set by the pipeline for one message)
    reads: Reads | None = None
    # attempts to give back (message pk → claim token) once the database answers again
    owed: dict[int, str] = field(default_factory=dict)

    @property
    def own_addresses(self) -> frozenset[str]:
        """Addresses mail from which is ours (never a case, never answered)."""
        return frozenset(
            a.lower() for a in (self.pool.inbox, self.settings.outbox.from_address) if a
        )


def read_extract(ctx: Context, mail: ParsedMail, kind: str, received_at: dt.datetime | None = None,
                 earlier_parts: Collection[str] = frozenset()) -> Extraction:
    """Extraction of ``mail`` as a ``kind`` mail, read in the child (through ``ctx.reads``)."""
    assert ctx.reads is not None, "reads happen while the pipeline processes a message"
    return ctx.reads.extract(ctx, mail, kind, received_at or ctx.now(), earlier_parts)
