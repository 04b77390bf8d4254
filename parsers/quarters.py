"""Quarters of a year, and which quarter a grantee's documentation mail is about. Pure.

From January 2026 a grantee documents each quarter to have it paid. Mail says
which quarter in many ways: ``Q1 2026``, ``2026-Q1``, ``Kvartal 1 2026``,
``1. kvt. 2026``, ``første kvartal``, ``januar–marts 2026``, or a file named
``Lønseddel marts 2026.pdf``. :func:`detect` looks at the subject first, then
the attachments' names, then the text of the mail; the first of these that
names a quarter decides. Months count only in the subject and in file names
(a body mentions months for all kinds of reasons), and never a month after a
day number (``3. april 2026`` is a date, not a period). A quarter written
without its year takes the one year written beside it, else the latest year
in which that quarter had begun when the mail arrived.

When nothing names a quarter, the quarter that ended most recently before the
mail arrived is taken, marked as inferred. Two quarters named in the same
place, or a quarter outside the grant period, is unclear: a person decides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from parsers import danish

_QUARTER_ID = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: ``Quarter(2026, 1)`` is January to March 2026."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q1`` (case and spaces do not matter); ValueError for anything else."""
        m = _QUARTER_ID.match("".join(text.split()).upper())
        if not m:
            raise ValueError(f"not a quarter (write it as 2026Q1): {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        """The quarter a day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def id(self) -> str:
        """``2026Q1``: how a quarter is stored and typed on the command line."""
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> dt.date:
        """The quarter's first day."""
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> dt.date:
        """The quarter's last day."""
        nxt = Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        return nxt.start - dt.timedelta(days=1)

    @property
    def short(self) -> str:
        """``Q1 2026``: how a grantee writes it in a subject."""
        return f"Q{self.number} {self.year}"

    @property
    def label(self) -> str:
        """``1. kvartal 2026``."""
        return danish.quarter_da(self.year, self.number)

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class QuarterReading:
    """Which quarter a mail documents, where that was read, and how sure it is.

    ``quarter`` is None when it is unclear; ``problem`` then says why (English,
    for staff) and ``candidates`` lists what was named.
    """

    quarter: Quarter | None
    source: str  # "subject", "file name 'x.pdf'", "text", "arrival date"
    raw: str = ""  # the words that named it
    inferred: bool = False  # taken from the arrival date: nothing named a quarter
    year_inferred: bool = False  # the quarter was named without its year
    problem: str | None = None
    candidates: tuple[Quarter, ...] = ()


@dataclass(frozen=True)
class _Mention:
    number: int
    year: int | None
    raw: str


_YEAR = r"(20\d\d)"
_ORDINALS = {"foerste": 1, "forste": 1, "andet": 2, "anden": 2, "tredje": 3, "fjerde": 4}
_KVT = r"(?:kvartal|kvt|kv)"
# (pattern, group of the quarter's number, group of its year)
_PATTERNS: tuple[tuple[re.Pattern[str], int, int], ...] = (
    (re.compile(rf"\b{_YEAR}\s?q\s?([1-4])\b"), 2, 1),
    (re.compile(r"\bq\s?([1-4])(?:\s?(20\d\d|\d\d))?\b"), 1, 2),
    (re.compile(rf"\b([1-4])\s?{_KVT}(?:\s?{_YEAR})?(?![a-z])"), 1, 2),
    (re.compile(rf"\b{_KVT}\s?([1-4])(?:\s{_YEAR})?\b"), 1, 2),
    (re.compile(rf"\b({'|'.join(_ORDINALS)})\s?{_KVT}(?:\s?{_YEAR})?(?![a-z])"), 1, 2),
)
_MONTH = "|".join(sorted(danish.MONTH_WORDS, key=len, reverse=True))
_RANGE = re.compile(rf"\b({_MONTH})\s(?:til\s)?({_MONTH})\s{_YEAR}\b")
_SINGLE_MONTH = re.compile(rf"(?<!\d )\b({_MONTH})\s{_YEAR}\b")
# Our own case tags (PSV-2025-0001) carry a year that is no period.
_CASE_TAG = re.compile(r"\b[a-z]{2,8}\s\d{4}\s\d{3,6}\b")


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def _number(token: str) -> int:
    return _ORDINALS[token] if token in _ORDINALS else int(token)


def mentions(text: str, months: bool = True) -> list[_Mention]:
    """Quarters named in ``text`` (with their year where it is written), in order."""
    folded = _CASE_TAG.sub(" ", danish.fold(text))
    found: list[tuple[int, _Mention]] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], number: int, year: int | None) -> None:
        if any(a < m.end() and m.start() < b for a, b in taken):
            return  # part of a mention found already ("kvartal 1 2026" also reads as "1 2026")
        taken.append((m.start(), m.end()))
        found.append((m.start(), _Mention(number, year, m.group(0))))

    for m in _RANGE.finditer(folded):
        first, last = danish.MONTH_WORDS[m.group(1)], danish.MONTH_WORDS[m.group(2)]
        if first % 3 == 1 and last == first + 2:
            add(m, (first + 2) // 3, int(m.group(3)))
    for pattern, number_group, year_group in _PATTERNS:
        for m in pattern.finditer(folded):
            add(m, _number(m.group(number_group)), _year(m.group(year_group)))
    if months:
        for m in _SINGLE_MONTH.finditer(folded):
            add(m, (danish.MONTH_WORDS[m.group(1)] + 2) // 3, int(m.group(2)))
    return [mention for _, mention in sorted(found, key=lambda pair: pair[0])]


def _complete(found: list[_Mention], text: str, arrived: dt.date) -> list[tuple[Quarter, bool, str]]:
    """Each mention as (quarter, year inferred, words), a missing year taken from the text or
    the arrival date."""
    years = set(re.findall(r"\b(20\d\d)\b", _CASE_TAG.sub(" ", danish.fold(text))))
    out = []
    for mention in found:
        if mention.year is not None:
            out.append((Quarter(mention.year, mention.number), False, mention.raw))
        elif len(years) == 1:
            out.append((Quarter(int(next(iter(years))), mention.number), False, mention.raw))
        else:  # the latest year in which this quarter had begun by the arrival
            begun = Quarter(arrived.year, mention.number).start <= arrived
            out.append((Quarter(arrived.year if begun else arrived.year - 1, mention.number), True, mention.raw))
    return out


def detect(subject: str, filenames: Sequence[str | None], body: str, arrived_at: dt.datetime,
           quarters: Sequence[Quarter], tz: dt.tzinfo) -> QuarterReading:
    """The quarter a documentation mail is about (see the module's description).

    ``quarters`` are the grant period's quarters (the pool file); ``arrived_at``
    is the server's arrival time, judged in ``tz``.
    """
    arrived = arrived_at.astimezone(tz).date()
    sources: list[tuple[str, str, bool]] = [("subject", subject or "", True)]
    sources += [(f"file name '{name}'", name, True) for name in filenames if name]
    sources.append(("text", body or "", False))
    period = set(quarters)
    # the subject first; then every file name together; then the text
    groups = [sources[:1], [s for s in sources if s[0].startswith("file name")], sources[-1:]]
    for group in groups:
        named: list[tuple[Quarter, bool, str, str]] = []
        for where, text, months in group:
            for quarter, year_inferred, raw in _complete(mentions(text, months), text, arrived):
                named.append((quarter, year_inferred, where, raw))
        if not named:
            continue
        distinct = sorted({q for q, *_ in named})
        quarter, year_inferred, where, raw = named[0]
        if len(distinct) > 1:
            return QuarterReading(None, where, raw, problem="names more than one quarter: "
                                  + ", ".join(q.id for q in distinct), candidates=tuple(distinct))
        if quarter not in period:
            return QuarterReading(None, where, raw, problem=f"names {quarter.id}, outside the grant period",
                                  candidates=(quarter,))
        return QuarterReading(quarter, where, raw, year_inferred=year_inferred)
    ended = [q for q in quarters if q.end < arrived]
    if not ended:
        return QuarterReading(None, "arrival date", problem="names no quarter, and no quarter of the "
                              "grant period had ended when it arrived")
    return QuarterReading(max(ended), "arrival date", inferred=True)
