"""What a rule is, and what it looks at.

A rule is a small class in the manner of GNU Mailman 3's ``rules/``: a
``code`` (:class:`~parsers.codes.ProblemCode`), the ``field`` it is about (or a
pattern such as ``<salary line>.rate``), an English ``description``, the
``params`` its findings carry (the problem text may use only these), and
``check(subject)`` that returns a :class:`~parsers.codes.Finding` for every
problem it finds, with the params that say why. Severity and the Danish text
are data (``config/problems.da.toml``).

The subject is what arrived: an :class:`Application`, a :class:`Report` or a
quarter's :class:`Documentation`,
plain values built by ``intake/extraction.py``. Rules are pure: no database,
no clock, no network; every number comes from the pool.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from intake.pool import Pool
from intake.rules import texts
from parsers import danish
from parsers.codes import Finding, ProblemCode, Severity, finding
from parsers.quarters import QuarterReading
from parsers.report import ReportFile
from store.words import AttachmentRole

# Beyond this no budget number is meant seriously; treating it as unreadable keeps
# the arithmetic inside Decimal's precision (a quantize would raise otherwise).
_ABSURD = Decimal(10) ** 15


def decimal_or_none(value: object) -> Decimal | None:
    """A number read from extracted JSON, or None when it is none (or absurd)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() and abs(d) < _ABSURD else None


class Attachment(Protocol):
    """An attachment as the rules see it (``intake.extraction.AttachmentInfo``)."""

    @property
    def filename(self) -> str | None: ...
    @property
    def detected_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def role(self) -> str | None: ...


@dataclass(frozen=True)
class Arrival:
    """What every mail with documents brings: when it arrived, for which pool, its files."""

    received_at: dt.datetime  # the server's arrival time (INTERNALDATE), aware
    pool: Pool
    attachments: Sequence[Attachment]
    max_attachment_bytes: int

    def with_role(self, role: AttachmentRole) -> list[Attachment]:
        """The attachments given ``role``, in mail order."""
        return [a for a in self.attachments if a.role == role]


@dataclass(frozen=True)
class BudgetLine:
    """One budget line as numbers (None where the reader could not read one)."""

    key: str
    hours: Decimal | None
    rate: Decimal | None
    share: Decimal | None
    amount: Decimal | None

    @property
    def year(self) -> int | None:
        """The year a line key ends with (``salary_2026`` → 2026)."""
        m = re.search(r"(\d{4})$", self.key)
        return int(m.group(1)) if m else None

    @property
    def is_salary(self) -> bool:
        """A salary line (hours × rate × share)."""
        return self.key.startswith("salary")

    @property
    def is_activity(self) -> bool:
        """An activity-funds line (an amount only)."""
        return self.key.startswith("activity")


@dataclass(frozen=True)
class Application(Arrival):
    """An application: the values and budget the readers found, and what they reported.

    ``fields`` and ``budget`` have the shapes of docs/contracts.md;
    ``required`` are the field map's required keys; ``form_findings`` and
    ``budget_findings`` are the readers' own problems, ``mail_findings`` the MIME
    reader's (the mail passed a limit, so no attachment was read).
    """

    fields: Mapping[str, Any]
    budget: Mapping[str, Any]
    required: tuple[str, ...]
    form_findings: Sequence[Finding] = ()
    budget_findings: Sequence[Finding] = ()
    mail_findings: Sequence[Finding] = ()  # the MIME reader's: a limit passed, only headers read

    def value(self, key: str) -> Any:
        """The normalised value of a form field, or None when it is absent or empty."""
        entry = self.fields.get(key)
        if isinstance(entry, dict):
            entry = entry.get("value")
        return None if entry in (None, "") else entry

    @cached_property
    def flagged(self) -> frozenset[str]:
        """Fields a reader already reported: a rule gives them no second problem."""
        return frozenset((f["field"] or "").split(".", 1)[0]
                         for f in (*self.form_findings, *self.budget_findings) if f["field"])

    @cached_property
    def form_read(self) -> bool:
        """True when there is a form whose values could be read (else its own problem says why)."""
        forms = self.with_role(AttachmentRole.FORM)
        if not forms or forms[0].detected_type != "pdf":
            return False
        return bool(self.fields) or not any(f["field"] is None for f in self.form_findings)

    @cached_property
    def fte(self) -> Decimal | None:
        """Caretakers (full-time equivalents) on the form, when above 0."""
        fte = decimal_or_none(self.value("fte"))
        return fte if fte is not None and fte > 0 else None

    @property
    def fte_text(self) -> str:
        """The caretakers as written in a Danish message (``1,5``)."""
        return danish.number_da(self.fte) if self.fte is not None else ""

    @cached_property
    def lines(self) -> tuple[BudgetLine, ...]:
        """The budget lines read, in budget order."""
        return tuple(
            BudgetLine(key=line.get("key") or "", hours=decimal_or_none(line.get("hours")),
                       rate=decimal_or_none(line.get("rate")), share=decimal_or_none(line.get("share")),
                       amount=decimal_or_none(line.get("amount")))
            for line in self.budget.get("lines") or [])

    @cached_property
    def total(self) -> Decimal | None:
        """The budget's total, when there are lines and a readable total."""
        return decimal_or_none(self.budget.get("total")) if self.lines else None


@dataclass(frozen=True)
class Report(Arrival):
    """A final report: the files with the parts found in them, and parts sent before."""

    files: Sequence[ReportFile] = ()
    earlier_parts: frozenset[str] = frozenset()  # sent in earlier submissions of the case
    findings: Sequence[Finding] = ()  # the report reader's own problems
    mail_findings: Sequence[Finding] = ()  # the MIME reader's: a limit passed, only headers read

    @property
    def found(self) -> set[str]:
        """Parts present now or sent before."""
        return {p for f in self.files for p in f.parts} | set(self.earlier_parts)


@dataclass(frozen=True)
class Documentation(Arrival):
    """A quarter's documentation: its files with the parts found, parts sent before, the quarter."""

    files: Sequence[ReportFile] = ()
    earlier_parts: frozenset[str] = frozenset()  # sent in earlier mail for the same quarter
    findings: Sequence[Finding] = ()  # the reader's own problems
    quarter: QuarterReading | None = None

    @property
    def found(self) -> set[str]:
        """Parts present now or sent before."""
        return {p for f in self.files for p in f.parts} | set(self.earlier_parts)


S = TypeVar("S", contravariant=True)


class Rule(ABC, Generic[S]):
    """One check: its code, the field it is about, what it checks, and ``check()``."""

    code: ClassVar[ProblemCode]
    field: ClassVar[str | None] = None  # a field key, or a pattern such as "<salary line>.rate"
    description: ClassVar[str]  # English: what is checked and why
    params: ClassVar[frozenset[str]] = frozenset()  # what its findings carry

    @abstractmethod
    def check(self, subject: S) -> list[Finding]:
        """Every problem this rule finds in ``subject`` (empty when there is none)."""

    @property
    def severity(self) -> Severity:
        """How much a problem weighs (``config/problems.da.toml``)."""
        return texts.severity(self.code)

    def found(self, field: str | None = None, **params: Any) -> Finding:
        """A finding of this rule (``params`` must be the declared ones)."""
        assert set(params) == self.params, (self.code, sorted(params))
        return finding(self.code, field, **params)


class LineRule(Rule[Application]):
    """A rule about one budget line at a time.

    Consecutive line rules run line by line (every line rule on the first line,
    then on the next), so that problems read in the budget's order.
    """

    @abstractmethod
    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """The problems of one line."""

    def check(self, subject: Application) -> list[Finding]:
        """The problems of every line."""
        return [f for line in subject.lines for f in self.check_line(subject, line)]
