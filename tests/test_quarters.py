"""Which quarter a grantee's mail documents, and what each quarter pays (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from intake.grants.plan import budget_lines, payout_plan
from intake.pool import load_pool
from parsers.quarters import Quarter, detect

POOL = load_pool("sociale-viceværter-2025")
TZ = ZoneInfo("Europe/Copenhagen")
Q = Quarter.parse

# arrived 14 April 2026 unless the row says otherwise
APRIL = dt.datetime(2026, 4, 14, 8, 0, tzinfo=dt.UTC)
# (subject, file names, text, expected quarter or None when unclear, where it was read, inferred)
TABLE = [
    ("Dokumentation Q1 2026", [], "", "2026Q1", "subject", False),
    ("Q1 2026", [], "", "2026Q1", "subject", False),
    ("Kvartal 1 2026", [], "", "2026Q1", "subject", False),
    ("Dokumentation for 2. kvartal", [], "", "2026Q2", "subject", False),
    ("SV: [PSV-2025-0001] Kvittering: Dokumentation 1. kvartal", [], "", "2026Q1", "subject", False),
    ("Dokumentation 2026-Q1 – Boligselskabet Nord", [], "", "2026Q1", "subject", False),
    ("Udbetaling Q1-26", [], "", "2026Q1", "subject", False),
    ("Dokumentation 1. kvt. 2026", [], "", "2026Q1", "subject", False),
    ("Dokumentation første kvartal 2026", [], "", "2026Q1", "subject", False),
    ("Dokumentation januar–marts 2026", [], "", "2026Q1", "subject", False),
    ("Lønsedler jan-mar 2026", [], "", "2026Q1", "subject", False),
    ("Dokumentation for kvartal 3 2026", [], "", "2026Q3", "subject", False),
    ("Udbetaling", ["Lønsedler_Q1_2026.pdf"], "", "2026Q1", "file name 'Lønsedler_Q1_2026.pdf'", False),
    ("Dokumentation", ["Lønseddel januar 2026.pdf", "Lønseddel februar 2026.pdf", "lønseddel marts 2026.pdf"], "",
     "2026Q1", "file name 'Lønseddel januar 2026.pdf'", False),
    ("Dokumentation", ["Aktivitetsregnskab 1kvt2026.pdf"], "", "2026Q1",
     "file name 'Aktivitetsregnskab 1kvt2026.pdf'", False),
    ("Dokumentation", ["loenoversigt-2026Q1.xlsx", "kvittering.pdf"], "", "2026Q1",
     "file name 'loenoversigt-2026Q1.xlsx'", False),
    ("Dokumentation", ["scan001.pdf"], "Hermed dokumentation for 1. kvartal 2026.", "2026Q1", "text", False),
    # the subject decides before the file names
    ("Dokumentation Q1 2026", ["Lønseddel april 2026.pdf"], "", "2026Q1", "subject", False),
    # a date in a subject is a date, not a period: nothing names a quarter, so the last ended one
    ("Dokumentation sendt 3. april 2026", [], "", "2026Q1", "arrival date", True),
    ("Dokumentation", ["scan001.pdf"], "Venlig hilsen, bogholderiet", "2026Q1", "arrival date", True),
    ("Kvartalsdokumentation", [], "Lønnen for januar er med.", "2026Q1", "arrival date", True),
    # unclear: two quarters, or one outside the grant period
    ("Dokumentation Q1 og Q2 2026", [], "", None, "subject", False),
    ("Dokumentation Q4 2025", [], "", None, "subject", False),
    ("Dokumentation", ["lønsedler Q1 2026.pdf", "lønsedler Q2 2026.pdf"], "", None,
     "file name 'lønsedler Q1 2026.pdf'", False),
]


def test_the_table_is_big_enough():
    assert len(TABLE) >= 20


@pytest.mark.parametrize(("subject", "files", "text", "quarter", "source", "inferred"), TABLE)
def test_the_quarter_a_mail_documents(subject, files, text, quarter, source, inferred):
    reading = detect(subject, files, text, APRIL, POOL.quarters, TZ)
    assert (reading.quarter.id if reading.quarter else None) == quarter, reading
    assert reading.source == source
    assert reading.inferred == inferred
    if quarter is None:
        assert reading.problem and reading.candidates


def test_a_quarter_without_its_year_takes_the_latest_year_it_had_begun():
    january = dt.datetime(2027, 1, 20, 9, 0, tzinfo=dt.UTC)
    reading = detect("Dokumentation 4. kvartal", [], "", january, POOL.quarters, TZ)
    assert reading.quarter == Q("2026Q4") and reading.year_inferred


def test_nothing_ended_yet_is_unclear():
    reading = detect("Dokumentation", [], "", dt.datetime(2026, 2, 1, tzinfo=dt.UTC), POOL.quarters, TZ)
    assert reading.quarter is None and "no quarter" in (reading.problem or "")


def test_the_arrival_is_judged_in_copenhagen():
    # 30 June 2026 23:30 UTC is 1 July in Copenhagen: the second quarter has ended
    reading = detect("Dokumentation", [], "", dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC), POOL.quarters, TZ)
    assert reading.quarter == Q("2026Q2") and reading.inferred


def test_quarters_as_staff_and_grantees_write_them():
    q = Q(" 2026q3 ")
    assert (q.id, q.short, q.label, q.start, q.end) == (
        "2026Q3", "Q3 2026", "3. kvartal 2026", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert Q("2027Q4").end == dt.date(2027, 12, 31)
    with pytest.raises(ValueError):
        Q("Q3 2026")


ONE_CARETAKER = {"lines": [
    {"key": "salary_2026", "amount": "550766.00"}, {"key": "salary_2027", "amount": "421731.75"},
    {"key": "activity_2026", "amount": "20000.00"}, {"key": "activity_2027", "amount": "20000.00"}],
    "total": "1012497.75"}


def test_a_full_grant_pays_a_quarter_of_each_years_salary_and_activity_funds():
    plan = payout_plan(Decimal("1012497.75"), budget_lines(ONE_CARETAKER), POOL.quarters)
    # 550.766 / 4 + 20.000 / 4 = 142.691,50; 421.731,75 / 4 + 5.000 = 110.432,9375
    assert [str(plan.amount(q)) for q in POOL.quarters] == [
        "142691.50", "142691.50", "142691.50", "142691.50",
        "110432.94", "110432.94", "110432.94", "110432.93"]  # the last quarter takes the rounding
    assert plan.total == Decimal("1012497.75") and plan.problem is None


def test_less_granted_scales_every_quarter_and_never_pays_more_than_granted():
    plan = payout_plan(Decimal("800000.00"), budget_lines(ONE_CARETAKER), POOL.quarters)
    factor = Decimal("800000") / Decimal("1012497.75")
    assert plan.amount(Q("2026Q1")) == (Decimal("142691.50") * factor).quantize(Decimal("0.01"))
    assert plan.total == Decimal("800000.00")
    assert all(a > 0 for a in plan.amounts.values())


@pytest.mark.parametrize(("granted", "budget", "why"), [
    (Decimal("1000"), {"lines": [{"key": "salary_2026", "amount": None}]}, "kunne ikke læses"),
    (Decimal("2000000"), ONE_CARETAKER, "større end budgettets linjer"),
    (None, ONE_CARETAKER, "intet bevilget beløb"),
])
def test_no_plan_is_guessed(granted, budget, why):
    plan = payout_plan(granted, budget_lines(budget), POOL.quarters)
    assert plan.amounts == {} and why in (plan.problem or "")
