"""Every check of SPEC.md "Checks an application gets", one test each, on contract-shaped data."""

from __future__ import annotations

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from intake.extraction import AttachmentInfo, texts_for
from intake.pool import load_pool
from intake.rules.base import Application
from intake.rules.registry import check_application, status_for
from parsers import danish
from parsers.fieldmap import load_fieldmap
from parsers.normalize import is_valid_cvr

CPH = ZoneInfo("Europe/Copenhagen")
ON_TIME = dt.datetime(2025, 7, 20, 10, 0, tzinfo=CPH)
# The fields these tests treat as required (the worker takes the field map's `required`).
REQUIRED = ("org_name", "cvr", "contact_name", "contact_email", "departments", "municipality",
            "fte", "amount_requested")


@pytest.fixture(scope="module")
def pool():
    return load_pool("sociale-viceværter-2025")


def _f(value):
    return {"value": value, "raw": str(value), "source": "test"}


def good_fields() -> dict:
    values = {
        "org_name": "Boligselskabet Ærøhus", "cvr": "12345674", "address": "Søvej 1, 8000 Aarhus C",
        "contact_name": "Åse Øberg", "contact_email": "aase@aeroehus.dk",
        "contact_phone": "+45 12 34 56 78", "departments": "Afd. 7 Østergården",
        "municipality": "Aarhus", "partners": "Aarhus Kommune, Socialforvaltningen", "fte": "1",
        "hire_type": "nyansaettelse", "start_date": "2026-01-01", "referrals": 12, "evictions": 3,
        "rent_level": "950.00", "collaboration": "Fast møde hver måned.",
        "organisation": "Forankret i driften.", "target_group": "Borgere med hjemløshedsbaggrund.",
        "amount_requested": "1012497.75", "signatory": "Åse Øberg", "signed_date": "2025-07-15",
    }
    return {k: _f(v) for k, v in values.items()}


def good_budget() -> dict:
    return {
        "lines": [
            {"key": "salary_2026", "line": "Løn 2026", "hours": "1649", "rate": "334.00",
             "share": "1.00", "amount": "550766.00", "source": "t"},
            {"key": "salary_2027", "line": "Løn 2027", "hours": "1649", "rate": "341.00",
             "share": "0.75", "amount": "421731.75", "source": "t"},
            {"key": "activity_2026", "line": "Aktivitetsmidler 2026", "hours": None, "rate": None,
             "share": None, "amount": "20000.00", "source": "t"},
            {"key": "activity_2027", "line": "Aktivitetsmidler 2027", "hours": None, "rate": None,
             "share": None, "amount": "20000.00", "source": "t"},
        ],
        "total": "1012497.75", "total_source": "t", "recomputed": [],
    }


def attachments(form="pdf", budget="xlsx"):
    out = []
    if form:
        out.append(AttachmentInfo("Ansøgning.pdf", None, form, 100, "0" * 64, role="form"))
    if budget:
        out.append(AttachmentInfo("Budget.xlsx", None, budget, 100, "1" * 64, role="budget"))
    return out


def subject(pool, fields, budget, atts, received, form_findings=(), required=REQUIRED) -> Application:
    return Application(received_at=received, pool=pool, attachments=atts, max_attachment_bytes=10_000_000,
                       fields=fields, budget=budget, required=required, form_findings=list(form_findings))


def run(pool, fields=None, budget=None, atts=None, received=ON_TIME, read_problems=()):
    return check_application(subject(
        pool, good_fields() if fields is None else fields, good_budget() if budget is None else budget,
        attachments() if atts is None else atts, received, read_problems), texts_for(load_fieldmap(), pool))


def codes(problems):
    return sorted(p["code"] for p in problems)


def line(budget, key):
    return next(item for item in budget["lines"] if item["key"] == key)


def test_a_correct_application_has_no_problem_and_is_complete(pool):
    problems = run(pool)
    assert problems == []
    assert status_for(problems, late=False) == "komplet"


def test_arrival_after_the_deadline_day_is_late_judged_in_copenhagen_time(pool):
    last_second = dt.datetime(2025, 8, 1, 23, 59, 59, tzinfo=CPH)
    assert run(pool, received=last_second) == []
    # 22:05 UTC on 1 August is 00:05 on 2 August in Copenhagen (summer time)
    late = run(pool, received=dt.datetime(2025, 8, 1, 22, 5, tzinfo=dt.UTC))
    assert codes(late) == ["late"]
    assert "2. august 2025 kl. 00.05" in late[0]["message"]  # one clock format: "kl. 00.05"
    assert "1. august 2025 kl. 23.59" in late[0]["message"]


def test_no_form_and_no_budget_are_each_a_problem(pool):
    assert codes(run(pool, fields={}, atts=attachments(form=None))) == ["form_missing"]
    assert codes(run(pool, budget={}, atts=attachments(budget=None))) == ["budget_missing"]


@pytest.mark.parametrize("detected,word", [("docx", "Word"), ("odt", "OpenDocument"),
                                           ("jpeg", "billede")])
def test_a_form_in_a_format_we_cannot_read_is_flagged_not_guessed(pool, detected, word):
    problems = run(pool, fields={}, atts=attachments(form=detected))
    assert codes(problems) == ["form_unsupported_format"]
    assert word in problems[0]["message"]


def test_a_budget_sent_as_pdf_is_flagged(pool):
    atts = attachments(budget="pdf")
    problems = run(pool, budget={}, atts=atts)
    assert codes(problems) == ["budget_unsupported_format"]
    assert "xlsx" in problems[0]["message"]


def test_reader_problems_are_rendered_and_an_unreadable_form_gets_no_field_flood(pool):
    problems = run(pool, fields={}, read_problems=[
        {"code": "form_encrypted", "field": None, "params": {}}])
    assert codes(problems) == ["form_encrypted"]
    assert problems[0]["severity"] == "error" and problems[0]["message"]


@pytest.mark.parametrize("key", ["org_name", "cvr", "contact_name", "contact_email", "departments",
                                 "municipality", "fte", "amount_requested"])
def test_each_required_field_missing_is_named(pool, key):
    fields = good_fields()
    del fields[key]
    problems = run(pool, fields=fields)
    assert [(p["code"], p["field"]) for p in problems if p["code"] == "field_missing"] == [
        ("field_missing", key)]
    label = texts_for(load_fieldmap(), pool).label(key)
    assert label in next(p["message"] for p in problems if p["code"] == "field_missing")


def test_a_field_the_reader_flagged_gets_no_second_problem(pool):
    fields = good_fields()
    del fields["start_date"], fields["cvr"]
    problems = run(pool, fields=fields, read_problems=[
        {"code": "field_malformed", "field": "cvr", "params": {"raw": "12 34", "reason": "8 digits"}}])
    assert codes(problems) == ["field_malformed"]


def test_cvr_check_digit(pool):
    assert is_valid_cvr("12345674") and not is_valid_cvr("12345678")
    fields = good_fields()
    fields["cvr"] = _f("12345678")
    problems = run(pool, fields=fields)
    assert codes(problems) == ["cvr_check_digit"]
    assert "12345678" in problems[0]["message"]


def test_unknown_municipality(pool):
    fields = good_fields()
    fields["municipality"] = _f("Gotham")
    fields["partners"] = _f("Aarhus Kommune")
    assert codes(run(pool, fields=fields)) == ["municipality_unknown"]


def test_malformed_email_and_zero_fte(pool):
    fields = good_fields()
    fields["contact_email"] = _f("aase(at)aeroehus.dk")
    assert codes(run(pool, fields=fields)) == ["email_invalid"]
    fields = good_fields()
    fields["fte"] = _f("0")
    assert codes(run(pool, fields=fields)) == ["fte_not_positive"]


def test_no_municipality_among_the_partners(pool):
    fields = good_fields()
    fields["partners"] = _f("Boligforeningen Vest og Café Ølstykke")
    problems = run(pool, fields=fields)
    assert codes(problems) == ["partners_no_municipality"]
    assert problems[0]["field"] == "partners"
    fields["partners"] = _f("Høje-Taastrup (socialafdelingen)")
    assert run(pool, fields=fields) == []


def test_rate_above_the_funded_rate_per_year(pool):
    budget = good_budget()
    line(budget, "salary_2027").update(rate="342.00", amount="422968.50")  # 1649*342*0.75
    budget["total"] = "1013734.50"
    fields = good_fields()
    fields["amount_requested"] = _f("1013734.50")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["rate_above_funded", "total_above_ceiling"]
    assert problems[0]["field"] == "salary_2027.rate"
    assert "341,00 kr." in problems[0]["message"] and "342,00 kr." in problems[0]["message"]


def test_hours_above_the_annual_norm(pool):
    budget = good_budget()
    line(budget, "salary_2026").update(hours="1700", amount="567800.00")
    budget["total"] = "1029531.75"
    fields = good_fields()
    fields["amount_requested"] = _f("1029531.75")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["hours_above_norm", "total_above_ceiling"]
    assert "1.649" in problems[0]["message"]


def test_share_above_the_funded_share(pool):
    budget = good_budget()
    line(budget, "salary_2027").update(share="1.00", amount="562309.00")
    budget["total"] = "1153075.00"
    fields = good_fields()
    fields["amount_requested"] = _f("1153075.00")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["share_above_funded", "total_above_ceiling"]
    assert "75 %" in problems[0]["message"] and "100 %" in problems[0]["message"]


def test_activity_funds_above_the_yearly_maximum(pool):
    budget = good_budget()
    line(budget, "activity_2026").update(amount="25000.00")
    budget["total"] = "1017497.75"
    fields = good_fields()
    fields["amount_requested"] = _f("1017497.75")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["activity_above_max", "total_above_ceiling"]
    assert "20.000,00 kr." in problems[0]["message"]


def test_total_above_the_ceiling_times_fte_and_the_ceiling_scales_with_fte(pool):
    budget = good_budget()
    budget["lines"] = budget["lines"][:2]
    budget["lines"].append({"key": "activity_2026", "line": "x", "hours": None, "rate": None,
                            "share": None, "amount": "60000.00", "source": "t"})
    budget["total"] = "1032497.75"
    fields = good_fields()
    fields["amount_requested"] = _f("1032497.75")
    problems = run(pool, fields=fields, budget=budget)
    assert "total_above_ceiling" in codes(problems)
    assert "1.012.497,75 kr." in next(p for p in problems if p["code"] == "total_above_ceiling")["message"]
    # the same money for two caretakers is within 2 × ceiling (hours below norm: a warning only)
    fields["fte"] = _f("2")
    assert "total_above_ceiling" not in codes(run(pool, fields=fields, budget=budget))


def test_budget_total_differs_from_the_amount_on_the_form(pool):
    fields = good_fields()
    fields["amount_requested"] = _f("1000000.00")
    problems = run(pool, fields=fields)
    assert codes(problems) == ["total_differs_from_form"]
    assert "1.000.000,00 kr." in problems[0]["message"]


def test_line_amount_not_hours_times_rate_times_share(pool):
    budget = good_budget()
    line(budget, "salary_2026")["amount"] = "550000.00"
    budget["total"] = "1011731.75"
    fields = good_fields()
    fields["amount_requested"] = _f("1011731.75")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["line_arithmetic"]
    assert problems[0]["field"] == "salary_2026.amount"
    assert "550.766,00 kr." in problems[0]["message"]


def test_total_not_the_sum_of_the_lines(pool):
    budget = good_budget()
    budget["total"] = "1012000.00"
    fields = good_fields()
    fields["amount_requested"] = _f("1012000.00")
    assert codes(run(pool, fields=fields, budget=budget)) == ["total_arithmetic"]


def test_hours_below_the_norm_is_a_warning_that_does_not_block_complete(pool):
    budget = good_budget()
    line(budget, "salary_2026").update(hours="1200", amount="400800.00")
    budget["total"] = "862531.75"
    fields = good_fields()
    fields["amount_requested"] = _f("862531.75")
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["hours_below_norm"]
    assert problems[0]["severity"] == "warning"
    assert status_for(problems, late=False) == "komplet"


def test_several_wrong_values_at_once_are_all_reported(pool):
    fields = good_fields()
    fields["cvr"] = _f("11111111")
    fields["partners"] = _f("Ingen endnu")
    budget = copy.deepcopy(good_budget())
    line(budget, "salary_2026")["rate"] = "350.00"
    budget["total"] = "999.00"
    problems = run(pool, fields=fields, budget=budget)
    assert codes(problems) == ["cvr_check_digit", "line_arithmetic", "partners_no_municipality",
                               "rate_above_funded", "total_arithmetic", "total_differs_from_form"]
    assert status_for(problems, late=False) == "mangler"
    assert status_for(problems, late=True) == "for sent"


def test_numbers_come_from_the_pool_not_from_the_code(pool):
    import dataclasses

    from intake.pool import SalaryRate

    cheaper = dataclasses.replace(pool, salary=(SalaryRate(2026, pool.salary[0].hourly_rate - 1, pool.salary[0].share),
                                                pool.salary[1]))
    problems = run(cheaper)
    assert "rate_above_funded" in codes(problems)


def test_danish_amounts():
    assert danish.kroner("1012497.75") == "1.012.497,75 kr."
    assert danish.kroner(334) == "334,00 kr."
    assert danish.number_da("1649") == "1.649"
    assert danish.number_da("1.5") == "1,5"
    assert danish.percent_da("0.75") == "75 %"


def test_a_zip_file_is_not_opened_and_the_applicant_is_told_why(pool):
    atts = [AttachmentInfo("Ansøgning.zip", None, "zip", 100, "2" * 64, role="bilag")]
    problems = run(pool, fields={}, budget={}, atts=atts)
    assert codes(problems) == ["budget_missing", "form_missing", "zip_not_opened"]
    assert "Ansøgning.zip" in next(p["message"] for p in problems if p["code"] == "zip_not_opened")


def test_one_and_a_half_caretakers_at_the_maximum_rounded_as_excel_does_pass(pool):
    # 2473.5 h × 341 × 0.75 = 632597.625: Excel's ROUND gives 632597.63, half an øre above
    budget = good_budget()
    line(budget, "salary_2026").update(hours="2473.5", amount="826149.00")
    line(budget, "salary_2027").update(hours="2473.5", amount="632597.63")
    line(budget, "activity_2026")["amount"] = "30000.00"
    line(budget, "activity_2027")["amount"] = "30000.00"
    budget["total"] = "1518746.63"
    fields = good_fields()
    fields["fte"] = _f("1.5")
    fields["amount_requested"] = _f("1518746.63")
    assert run(pool, fields=fields, budget=budget) == []
