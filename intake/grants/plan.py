"""A grant's payouts, quarter by quarter (SPEC "Decisions and payouts"). Pure.

Each quarter of a year pays its share of that year's salary and activity
funds, as the budget applied for them (budget lines ``salary_<year>`` and
``activity_<year>``). When the committee granted less than the budget's
lines add up to, every quarter is scaled by the same factor. Amounts are
rounded to øre, and the last quarter takes what rounding left, so the
payouts add up to the grant exactly and never more.

Nothing is guessed: a budget line that could not be read, or a grant larger
than the budget's lines, gives no plan but a reason (Danish, for staff).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from parsers.danish import CENT, kroner, to_decimal
from parsers.quarters import Quarter


@dataclass(frozen=True)
class Plan:
    """The payout of every quarter, or why there is none (``problem``)."""

    amounts: dict[Quarter, Decimal] = field(default_factory=dict)
    factor: Decimal = Decimal(1)  # granted / applied, when less was granted
    problem: str | None = None

    @property
    def total(self) -> Decimal:
        """What all quarters pay together (the grant)."""
        return sum(self.amounts.values(), Decimal(0))

    def amount(self, quarter: Quarter) -> Decimal | None:
        """One quarter's payout, or None when the quarter is not in the plan."""
        return self.amounts.get(quarter)


def budget_lines(budget: Mapping[str, object]) -> dict[str, Decimal | None]:
    """The amount of every budget line (``{"salary_2026": Decimal(...)}``; None when unreadable)."""
    lines = budget.get("lines") if isinstance(budget, Mapping) else None
    out: dict[str, Decimal | None] = {}
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, Mapping) and isinstance(line.get("key"), str):
            out[str(line["key"])] = to_decimal(line.get("amount"))
    return out


def payout_plan(granted: Decimal | None, lines: Mapping[str, Decimal | None],
                quarters: Sequence[Quarter]) -> Plan:
    """The payouts of a grant of ``granted`` over ``quarters``, from the budget's line amounts."""
    if granted is None or granted <= 0:
        return Plan(problem="der er intet bevilget beløb")
    if not quarters:
        return Plan(problem="puljefilen har ingen kvartaler")
    years = sorted({q.year for q in quarters})
    per_year: dict[int, Decimal] = {}
    for year in years:
        read = {f"løn {year}": lines.get(f"salary_{year}"), f"aktivitetsmidler {year}": lines.get(f"activity_{year}")}
        missing = [name for name, a in read.items() if a is None or a < 0]
        if missing:
            return Plan(problem=f"budgettets linje for {' og '.join(missing)} kunne ikke læses")
        per_year[year] = sum((a for a in read.values() if a is not None), Decimal(0))
    applied = sum(per_year.values(), Decimal(0))
    if applied <= 0:
        return Plan(problem="budgettets linjer giver intet beløb")
    if granted > applied:
        return Plan(problem=f"det bevilgede beløb {kroner(granted)} er større end budgettets linjer "
                            f"({kroner(applied)})")
    factor = granted / applied
    counts = {year: sum(1 for q in quarters if q.year == year) for year in years}
    ordered = sorted(quarters)
    amounts = {q: (per_year[q.year] / counts[q.year] * factor).quantize(CENT, rounding=ROUND_HALF_UP)
               for q in ordered[:-1]}
    amounts[ordered[-1]] = granted.quantize(CENT) - sum(amounts.values(), Decimal(0))
    return Plan(amounts=amounts, factor=factor)
