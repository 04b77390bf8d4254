"""The budget against the pool's rates: nine rules, six about one line, three about the total.

Limits "per caretaker" (annual norm hours, activity funds per year, the
ceiling) are multiplied by the form's ``fte``; when ``fte`` is unknown those
rules are silent (the missing field is a problem of its own). Every number
comes from the pool file.
"""

from __future__ import annotations

from abc import abstractmethod
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from intake.rules.base import Application, BudgetLine, LineRule, Rule, decimal_or_none
from parsers import danish
from parsers.codes import Finding, ProblemCode

_CENT = Decimal("0.01")
_HALF_CENT = Decimal("0.005")


def _funded(subject: Application, line: BudgetLine) -> tuple[Decimal, Decimal] | None:
    """The pool's (hourly rate, share) for a salary line's year, if the pool funds that year."""
    for rate in subject.pool.salary:
        if rate.year == line.year:
            return rate.hourly_rate, rate.share
    return None


class _AboveFunded(LineRule):
    """A salary line's rate or share compared with what the pool funds in its year."""

    params = frozenset({"value", "limit", "year"})
    part: ClassVar[str]  # the line's column

    @abstractmethod
    def compare(self, line: BudgetLine, rate: Decimal, share: Decimal) -> tuple[Decimal | None, Decimal]:
        """(the line's value, the funded limit)."""

    @abstractmethod
    def show(self, value: Decimal) -> str:
        """The value as a Danish message writes it."""

    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """A finding when the value is above the funded limit."""
        funded = _funded(subject, line) if line.is_salary else None
        if funded is None:
            return []
        value, limit = self.compare(line, *funded)
        if value is None or value <= limit:
            return []
        return [self.found(f"{line.key}.{self.part}", value=self.show(value), limit=self.show(limit),
                           year=line.year)]


class RateAboveFunded(_AboveFunded):
    """An hourly rate above the rate the pool funds that year."""

    code = ProblemCode.RATE_ABOVE_FUNDED
    field = "<salary line>.rate"
    description = "A salary line's hourly rate is above the pool's funded rate for its year."
    part = "rate"

    def compare(self, line: BudgetLine, rate: Decimal, share: Decimal) -> tuple[Decimal | None, Decimal]:
        """The hourly rate against the funded rate."""
        return line.rate, rate

    def show(self, value: Decimal) -> str:
        """Kroner."""
        return danish.kroner(value)


class ShareAboveFunded(_AboveFunded):
    """A share of the rate above the share the pool funds that year (100 %, then 75 %)."""

    code = ProblemCode.SHARE_ABOVE_FUNDED
    field = "<salary line>.share"
    description = "A salary line's share is above the pool's funded share for its year."
    part = "share"

    def compare(self, line: BudgetLine, rate: Decimal, share: Decimal) -> tuple[Decimal | None, Decimal]:
        """The share against the funded share."""
        return line.share, share

    def show(self, value: Decimal) -> str:
        """A percentage."""
        return danish.percent_da(value)


class _AgainstNorm(LineRule):
    """Hours compared with the annual norm times the caretakers."""

    params = frozenset({"value", "limit", "fte"})

    def _compare(self, subject: Application, line: BudgetLine) -> tuple[int, Decimal, Decimal] | None:
        """(sign of hours - norm, hours, norm) for a salary line, when both are known."""
        if not line.is_salary or line.hours is None or subject.fte is None:
            return None
        norm = subject.pool.annual_norm_hours * subject.fte
        return (line.hours > norm) - (line.hours < norm), line.hours, norm

    def _finding(self, subject: Application, line: BudgetLine, hours: Decimal, norm: Decimal) -> Finding:
        return self.found(f"{line.key}.hours", value=danish.number_da(hours),
                          limit=danish.number_da(norm), fte=subject.fte_text)


class HoursAboveNorm(_AgainstNorm):
    """More hours a year than the annual norm allows for the caretakers."""

    code = ProblemCode.HOURS_ABOVE_NORM
    field = "<salary line>.hours"
    description = "A salary line has more hours than the annual norm × caretakers."

    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """A finding when the hours are above the norm."""
        compared = self._compare(subject, line)
        if compared is None or compared[0] <= 0:
            return []
        return [self._finding(subject, line, compared[1], compared[2])]


class HoursBelowNorm(_AgainstNorm):
    """Fewer hours than the norm: the rates assume full time, so staff look (a warning)."""

    code = ProblemCode.HOURS_BELOW_NORM
    field = "<salary line>.hours"
    description = "A salary line has fewer hours than the annual norm × caretakers (full time assumed)."

    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """A finding when the hours are below the norm."""
        compared = self._compare(subject, line)
        if compared is None or compared[0] >= 0:
            return []
        return [self._finding(subject, line, compared[1], compared[2])]


class LineArithmetic(LineRule):
    """A salary line's amount is not hours × rate × share (any rounding to whole øre passes)."""

    code = ProblemCode.LINE_ARITHMETIC
    field = "<salary line>.amount"
    description = "A salary line's amount is not hours × rate × share, to within half an øre."
    params = frozenset({"value", "expected"})

    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """A finding when the amount does not add up."""
        if not line.is_salary or line.hours is None or line.rate is None or line.share is None \
                or line.amount is None:
            return []
        exact = line.hours * line.rate * line.share
        if abs(line.amount - exact) <= _HALF_CENT:
            return []
        return [self.found(f"{line.key}.amount", value=danish.kroner(line.amount),
                           expected=danish.kroner(exact.quantize(_CENT, ROUND_HALF_UP)))]


class ActivityAboveMax(LineRule):
    """Activity funds above the yearly maximum times the caretakers."""

    code = ProblemCode.ACTIVITY_ABOVE_MAX
    field = "<activity line>.amount"
    description = "An activity-funds line is above the yearly maximum × caretakers."
    params = frozenset({"value", "limit", "fte"})

    def check_line(self, subject: Application, line: BudgetLine) -> list[Finding]:
        """A finding when the activity funds are above the maximum."""
        if not line.is_activity or line.amount is None or subject.fte is None:
            return []
        limit = subject.pool.activity_funds_per_year * subject.fte
        if line.amount <= limit:
            return []
        return [self.found(f"{line.key}.amount", value=danish.kroner(line.amount),
                           limit=danish.kroner(limit), fte=subject.fte_text)]


class TotalArithmetic(Rule[Application]):
    """The total is not the sum of the lines."""

    code = ProblemCode.TOTAL_ARITHMETIC
    field = "total"
    description = "The budget's total is not the sum of its lines."
    params = frozenset({"value", "expected"})

    def check(self, subject: Application) -> list[Finding]:
        """A finding when every line has an amount and they do not add up to the total."""
        amounts = [line.amount for line in subject.lines]
        if subject.total is None or not amounts:
            return []
        known = [a for a in amounts if a is not None]
        if len(known) != len(amounts):
            return []
        expected = sum(known, Decimal(0)).quantize(_CENT)
        if subject.total.quantize(_CENT) == expected:
            return []
        return [self.found("total", value=danish.kroner(subject.total), expected=danish.kroner(expected))]


class TotalAboveCeiling(Rule[Application]):
    """The total is above the pool's ceiling per caretaker times the caretakers."""

    code = ProblemCode.TOTAL_ABOVE_CEILING
    field = "total"
    description = "The budget's total is above the pool's ceiling per caretaker × caretakers."
    params = frozenset({"value", "limit", "fte"})

    def check(self, subject: Application) -> list[Finding]:
        """A finding when the total is above the ceiling."""
        if subject.total is None or subject.fte is None:
            return []
        # rounded up to whole øre, as a budget rounding each line (Excel's ROUND) may reach it
        ceiling = (subject.pool.ceiling_per_fte * subject.fte).quantize(_CENT, ROUND_HALF_UP)
        if subject.total <= ceiling:
            return []
        return [self.found("total", value=danish.kroner(subject.total), limit=danish.kroner(ceiling),
                           fte=subject.fte_text)]


class TotalDiffersFromForm(Rule[Application]):
    """The budget's total and the amount applied for on the form differ."""

    code = ProblemCode.TOTAL_DIFFERS_FROM_FORM
    field = "amount_requested"
    description = "The budget's total differs from the amount requested on the form."
    params = frozenset({"value", "requested"})

    def check(self, subject: Application) -> list[Finding]:
        """A finding when the two amounts differ (to the øre)."""
        requested = decimal_or_none(subject.value("amount_requested"))
        if subject.total is None or requested is None \
                or requested.quantize(_CENT) == subject.total.quantize(_CENT):
            return []
        return [self.found("amount_requested", value=danish.kroner(subject.total),
                           requested=danish.kroner(requested))]
