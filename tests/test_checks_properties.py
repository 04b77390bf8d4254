"""Properties of the checks: a budget within the rules passes; nothing ever raises."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_checks import ON_TIME, attachments, good_fields, subject

from intake.extraction import texts_for
from intake.pool import load_pool
from intake.rules.registry import check_application
from parsers.fieldmap import load_fieldmap

POOL = load_pool("sociale-viceværter-2025")
TEXTS = texts_for(load_fieldmap(), POOL)
CENT = Decimal("0.01")


def _budget(fte: Decimal, rates: list[Decimal], shares: list[Decimal], activity: list[Decimal]) -> dict:
    lines, total = [], Decimal(0)
    hours = POOL.annual_norm_hours * fte
    for funded, rate, share in zip(POOL.salary, rates, shares, strict=True):
        amount = (hours * rate * share).quantize(CENT, ROUND_HALF_UP)  # as Excel's ROUND does
        total += amount
        lines.append({"key": f"salary_{funded.year}", "hours": str(hours), "rate": str(rate),
                      "share": str(share), "amount": str(amount)})
    for funded, amount in zip(POOL.salary, activity, strict=True):
        total += amount
        lines.append({"key": f"activity_{funded.year}", "hours": None, "rate": None, "share": None,
                      "amount": str(amount)})
    return {"lines": lines, "total": str(total)}


@settings(max_examples=60, deadline=None)
@given(
    fte=st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("1.5"), Decimal("2"), Decimal("2.5")]),
    cut=st.lists(st.integers(min_value=0, max_value=30), min_size=2, max_size=2),
    share_cut=st.lists(st.sampled_from([Decimal("0"), Decimal("0.05"), Decimal("0.25")]), min_size=2, max_size=2),
    activity=st.lists(st.integers(min_value=0, max_value=20_000), min_size=2, max_size=2),
)
def test_a_consistent_budget_within_the_funded_limits_has_no_problem(fte, cut, share_cut, activity):
    rates = [r.hourly_rate - c for r, c in zip(POOL.salary, cut, strict=True)]
    shares = [r.share - c for r, c in zip(POOL.salary, share_cut, strict=True)]
    budget = _budget(fte, rates, shares, [Decimal(a) * fte for a in activity])
    fields = good_fields()
    fields["fte"]["value"] = str(fte)
    fields["amount_requested"]["value"] = budget["total"]
    problems = check_application(subject(POOL, fields, budget, attachments(), ON_TIME), TEXTS)
    assert problems == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@example(fields={"fte": {"value": "1e30"}}, lines=[{"key": "salary_2026", "hours": "1e30", "rate": "9e29",
                                                    "share": "1", "amount": "1e30"}], total="1e31")
@given(
    fields=st.dictionaries(st.sampled_from(["cvr", "fte", "municipality", "partners", "amount_requested",
                                            "contact_email", "org_name"]),
                           st.fixed_dictionaries({"value": json_values}), max_size=7),
    lines=st.lists(st.fixed_dictionaries({
        "key": st.sampled_from(["salary_2026", "salary_2027", "activity_2026", "salary_x", ""]),
        "hours": json_values, "rate": json_values, "share": json_values, "amount": json_values}),
        max_size=5),
    total=json_values,
)
def test_any_extracted_data_gives_problems_never_an_exception(fields, lines, total):
    problems = check_application(subject(POOL, fields, {"lines": lines, "total": total}, attachments(),
                                         dt.datetime(2025, 7, 1, tzinfo=dt.UTC)), TEXTS)
    assert all(p["message"] and p["severity"] in ("error", "warning") for p in problems)
