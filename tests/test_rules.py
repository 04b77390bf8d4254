"""Each rule on its own: one case that triggers it (with the params it records) and one that does not.

Expected values are written out by hand from what the applicant sent and the
pool's published numbers (334 kr./341 kr. an hour, 100 %/75 %, 1,649 hours,
20,000 kr. a year, 1,012,497.75 kr. per caretaker).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from test_checks import REQUIRED, _f, attachments, good_budget, good_fields, line

from intake.extraction import AttachmentInfo
from intake.pool import load_pool
from intake.rules import attachments as a
from intake.rules import budget as b
from intake.rules import deadline as d
from intake.rules import fields as f
from intake.rules import report as r
from intake.rules.base import Application, Report
from parsers.report import ReportFile

CPH = ZoneInfo("Europe/Copenhagen")
POOL = load_pool("sociale-viceværter-2025")
ON_TIME = dt.datetime(2025, 7, 20, 10, 0, tzinfo=CPH)


def app(fields=None, budget=None, atts=None, received=ON_TIME, form_findings=(), **changes) -> Application:
    subject = Application(received_at=received, pool=POOL, attachments=atts if atts is not None else attachments(),
                          max_attachment_bytes=26_214_400, fields=fields if fields is not None else good_fields(),
                          budget=budget if budget is not None else good_budget(), required=REQUIRED,
                          form_findings=list(form_findings))
    return dataclasses.replace(subject, **changes)


def with_field(key, value) -> Application:
    fields = good_fields()
    fields[key] = _f(value)
    return app(fields=fields)


def with_line(key, **values) -> Application:
    budget = good_budget()
    line(budget, key).update(values)
    return app(budget=budget)


def found(rule, subject):
    return [(x["code"], x["field"], x["params"]) for x in rule.check(subject)]


# --- deadline -------------------------------------------------------------------------

def test_late():
    assert found(d.Late(), app(received=dt.datetime(2025, 8, 1, 23, 59, 59, tzinfo=CPH))) == []
    assert found(d.Late(), app(received=dt.datetime(2025, 8, 2, 0, 5, tzinfo=CPH))) == [
        ("late", None, {"received": "2. august 2025 kl. 00.05", "deadline": "1. august 2025 kl. 23.59"})]


def report(files=(), earlier=frozenset(), received=dt.datetime(2028, 1, 20, 9, 0, tzinfo=CPH), atts=()):
    return Report(received_at=received, pool=POOL, attachments=list(atts), max_attachment_bytes=26_214_400,
                  files=list(files), earlier_parts=frozenset(earlier))


def test_report_late():
    assert found(d.ReportLate(), report(received=dt.datetime(2028, 1, 31, 23, 0, tzinfo=CPH))) == []
    assert found(d.ReportLate(), report(received=dt.datetime(2028, 2, 1, 10, 30, tzinfo=CPH))) == [
        ("report_late", None, {"received": "1. februar 2028 kl. 10.30", "deadline": "31. januar 2028 kl. 23.59"})]


# --- attachments ------------------------------------------------------------------------

def test_form_missing():
    assert found(a.FormMissing(), app()) == []
    assert found(a.FormMissing(), app(atts=attachments(form=None))) == [("form_missing", None, {})]


def test_form_unsupported_format():
    assert found(a.FormUnsupportedFormat(), app()) == []
    assert found(a.FormUnsupportedFormat(), app(atts=[AttachmentInfo("Ansøgning.docx", None, "docx", 100, "0" * 64,
                                                                     role="form")])) == [
        ("form_unsupported_format", None, {"filename": "Ansøgning.docx", "type": "Word"})]


def test_zip_not_opened():
    assert found(a.ZipNotOpened(), app()) == []
    atts = [*attachments(), AttachmentInfo("Bilag.zip", None, "zip", 100, "2" * 64, role="bilag")]
    assert found(a.ZipNotOpened(), app(atts=atts)) == [("zip_not_opened", None, {"filename": "Bilag.zip"})]


def test_budget_missing():
    assert found(a.BudgetMissing(), app()) == []
    assert found(a.BudgetMissing(), app(atts=attachments(budget=None))) == [("budget_missing", None, {})]


def test_budget_unsupported_format():
    assert found(a.BudgetUnsupportedFormat(), app()) == []
    # an encrypted Office file goes to the budget reader, which says it is encrypted
    assert found(a.BudgetUnsupportedFormat(), app(atts=attachments(budget="office-encrypted"))) == []
    assert found(a.BudgetUnsupportedFormat(), app(atts=attachments(budget="pdf"))) == [
        ("budget_unsupported_format", None, {"filename": "Budget.xlsx", "type": "PDF"})]


def test_attachment_too_large():
    assert found(a.AttachmentTooLarge(), app()) == []
    big = AttachmentInfo("Skema.pdf", None, "pdf", 30_000_000, "3" * 64, role="for stor")
    assert found(a.AttachmentTooLarge(), app(atts=[*attachments(), big])) == [
        ("attachment_too_large", None, {"filename": "Skema.pdf", "size": "28,6 MB", "limit": "25 MB"})]


# --- form fields -------------------------------------------------------------------------

def test_field_missing():
    assert found(f.FieldMissing(), app()) == []
    fields = good_fields()
    del fields["departments"], fields["signatory"]  # the signatory is not required
    assert found(f.FieldMissing(), app(fields=fields)) == [("field_missing", "departments", {})]
    # a field the reader already reported, or a form that could not be read, gets nothing more
    reported = [{"code": "field_malformed", "field": "departments", "params": {}}]
    assert found(f.FieldMissing(), app(fields=fields, form_findings=reported)) == []
    unread = [{"code": "form_scanned", "field": None, "params": {"pages": 2}}]
    assert found(f.FieldMissing(), app(fields={}, form_findings=unread)) == []


def test_cvr_check_digit():
    assert found(f.CvrCheckDigit(), with_field("cvr", "29190003")) == []
    assert found(f.CvrCheckDigit(), with_field("cvr", "29190004")) == [
        ("cvr_check_digit", "cvr", {"raw": "29190004"})]


def test_municipality_unknown():
    assert found(f.MunicipalityUnknown(), with_field("municipality", "Høje-Taastrup")) == []
    assert found(f.MunicipalityUnknown(), with_field("municipality", "Gotham")) == [
        ("municipality_unknown", "municipality", {"raw": "Gotham"})]


def test_email_invalid():
    assert found(f.EmailInvalid(), with_field("contact_email", "aase@aeroehus.dk")) == []
    assert found(f.EmailInvalid(), with_field("contact_email", "aase(at)aeroehus.dk")) == [
        ("email_invalid", "contact_email", {"value": "aase(at)aeroehus.dk"})]


def test_fte_not_positive():
    assert found(f.FteNotPositive(), with_field("fte", "0.5")) == []
    assert found(f.FteNotPositive(), with_field("fte", "0")) == [("fte_not_positive", "fte", {"value": "0"})]


def test_partners_no_municipality():
    assert found(f.PartnersNoMunicipality(), with_field("partners", "Lejerbo og Odense Kommune")) == []
    assert found(f.PartnersNoMunicipality(), with_field("partners", "Café Ølstykke")) == [
        ("partners_no_municipality", "partners", {})]


# --- budget -----------------------------------------------------------------------------

def line_rule(rule, subject):
    return [(x["code"], x["field"], x["params"]) for x in rule.check(subject)]


def test_rate_above_funded():
    assert line_rule(b.RateAboveFunded(), with_line("salary_2027", rate="341.00")) == []
    assert line_rule(b.RateAboveFunded(), with_line("salary_2027", rate="342.00")) == [
        ("rate_above_funded", "salary_2027.rate", {"value": "342,00 kr.", "limit": "341,00 kr.", "year": 2027})]


def test_share_above_funded():
    assert line_rule(b.ShareAboveFunded(), with_line("salary_2027", share="0.75")) == []
    assert line_rule(b.ShareAboveFunded(), with_line("salary_2027", share="1.00")) == [
        ("share_above_funded", "salary_2027.share", {"value": "100 %", "limit": "75 %", "year": 2027})]


def test_hours_above_norm():
    assert line_rule(b.HoursAboveNorm(), with_line("salary_2026", hours="1649")) == []
    assert line_rule(b.HoursAboveNorm(), with_line("salary_2026", hours="1700")) == [
        ("hours_above_norm", "salary_2026.hours", {"value": "1.700", "limit": "1.649", "fte": "1"})]


def test_hours_below_norm():
    assert line_rule(b.HoursBelowNorm(), with_line("salary_2026", hours="1649")) == []
    assert line_rule(b.HoursBelowNorm(), with_line("salary_2026", hours="1200")) == [
        ("hours_below_norm", "salary_2026.hours", {"value": "1.200", "limit": "1.649", "fte": "1"})]


def test_line_arithmetic():
    # 1649 h × 341 kr. × 75 % = 421,731.75 kr.; within half an øre is any rounding to øre
    assert line_rule(b.LineArithmetic(), with_line("salary_2027", amount="421731.75")) == []
    assert line_rule(b.LineArithmetic(), with_line("salary_2026", amount="550000.00")) == [
        ("line_arithmetic", "salary_2026.amount", {"value": "550.000,00 kr.", "expected": "550.766,00 kr."})]


def test_activity_above_max():
    assert line_rule(b.ActivityAboveMax(), with_line("activity_2026", amount="20000.00")) == []
    assert line_rule(b.ActivityAboveMax(), with_line("activity_2026", amount="25000.00")) == [
        ("activity_above_max", "activity_2026.amount", {"value": "25.000,00 kr.", "limit": "20.000,00 kr.",
                                                        "fte": "1"})]


def with_total(total) -> Application:
    budget = good_budget()
    budget["total"] = total
    return app(budget=budget)


def test_total_arithmetic():
    assert found(b.TotalArithmetic(), with_total("1012497.75")) == []
    assert found(b.TotalArithmetic(), with_total("1012000.00")) == [
        ("total_arithmetic", "total", {"value": "1.012.000,00 kr.", "expected": "1.012.497,75 kr."})]


def test_total_above_ceiling():
    assert found(b.TotalAboveCeiling(), with_total("1012497.75")) == []
    assert found(b.TotalAboveCeiling(), with_total("1100000.00")) == [
        ("total_above_ceiling", "total", {"value": "1.100.000,00 kr.", "limit": "1.012.497,75 kr.", "fte": "1"})]


def test_total_differs_from_form():
    assert found(b.TotalDiffersFromForm(), app()) == []
    assert found(b.TotalDiffersFromForm(), with_field("amount_requested", "1000000.00")) == [
        ("total_differs_from_form", "amount_requested", {"value": "1.012.497,75 kr.",
                                                         "requested": "1.000.000,00 kr."})]


# --- final reports -----------------------------------------------------------------------

def part_file(name, *parts, pages_used=None):
    return ReportFile(filename=name, detected_type="pdf", parts=list(parts), pages=2, pages_used=pages_used)


FOUR = [part_file("Ledelseserklæring.pdf", "ledelseserklaering"),
        part_file("Faglig afrapportering.pdf", "faglig_afrapportering", pages_used=Decimal("1.5")),
        part_file("Revisionsberetning.pdf", "revisionsberetning"),
        part_file("Revisionsprotokollat.pdf", "revisionsprotokollat")]


def test_report_part_missing():
    assert found(r.ReportPartMissing(), report(FOUR, earlier={"regnskab"})) == []
    assert found(r.ReportPartMissing(), report(FOUR)) == [
        ("report_part_missing", "regnskab", {"part": "regnskab",
                                             "what": "regnskabet, opdelt på budgetlinjer (løn og aktivitetsmidler)"})]


def test_report_too_long():
    assert found(r.ReportTooLong(), report(FOUR)) == []
    long = part_file("Faglig afrapportering.pdf", "faglig_afrapportering", pages_used=Decimal("1.9"))
    assert found(r.ReportTooLong(), report([FOUR[0], long])) == [
        ("report_too_long", "faglig_afrapportering",
         {"filename": "Faglig afrapportering.pdf", "part": "faglig afrapportering", "pages": "1,9",
          "limit": "1½"})]


@pytest.mark.parametrize("rule", [b.RateAboveFunded(), b.HoursBelowNorm(), b.TotalAboveCeiling()])
def test_budget_rules_are_silent_without_a_budget(rule):
    assert found(rule, app(budget={})) == []


def test_budget_problems_read_in_the_budgets_order_line_by_line():
    from intake.extraction import texts_for
    from intake.rules.registry import check_application
    from parsers.fieldmap import load_fieldmap

    budget = good_budget()
    line(budget, "salary_2026").update(share="1.10", amount="605842.60")  # 1649 × 334 × 110 %
    line(budget, "salary_2027").update(rate="342.00", amount="422968.50")  # 1649 × 342 × 75 %
    budget["total"] = "1068811.10"
    fields = good_fields()
    fields["amount_requested"] = _f("1068811.10")
    problems = check_application(app(fields=fields, budget=budget), texts_for(load_fieldmap(), POOL))
    assert [(p["code"], p["field"]) for p in problems] == [
        ("share_above_funded", "salary_2026.share"), ("rate_above_funded", "salary_2027.rate"),
        ("total_above_ceiling", "total")]
