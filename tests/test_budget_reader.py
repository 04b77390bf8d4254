"""Reading the budget: names, moved rows, text numbers, missing cached values, other formats."""

from __future__ import annotations

import io
from decimal import Decimal

import docbuilders as d
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from parsers import filetype
from parsers.budget import read_budget
from parsers.fieldmap import load_fieldmap

FM = load_fieldmap()

EXPECTED_LINES = [
    ("salary_2026", "1649", "334.00", "1.00", "550766.00"),
    ("salary_2027", "1649", "341.00", "0.75", "421731.75"),
    ("activity_2026", None, None, None, "20000.00"),
    ("activity_2027", None, None, None, "20000.00"),
]


def read(data: bytes, max_cells: int = 10_000):
    return read_budget(data, filetype.detect(data), FM, max_cells=max_cells)


def table(r) -> list[tuple]:
    return [(x["key"], x["hours"], x["rate"], x["share"], x["amount"]) for x in r.lines]


def codes(r) -> list[tuple[str, str | None]]:
    return [(p["code"], p["field"]) for p in r.problems]


def test_template_as_written_by_a_program_is_computed_and_says_so():
    r = read(d.budget_xlsx())
    assert r.problems == []
    assert r.method == "names"
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"
    # openpyxl stores no formula results: the amounts are computed, and that is recorded
    assert r.recomputed == ["salary_2026.amount", "salary_2027.amount", "total.amount"]
    assert r.lines[0]["source"] == "computed from Budget!B5*C5*D5"
    assert r.lines[0]["sources"]["rate"] == "cell Budget!C5 (name salary_2026_rate)"
    assert r.total_source == "computed from Budget!E5+E6+E7+E8"


def test_cached_values_are_used_as_saved():
    r = read(d.budget_xlsx(cached=True))
    assert r.recomputed == []
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"
    assert r.total_source == "cell Budget!E9 (name total)"
    assert r.lines[1]["source"] == "cell Budget!E6 (name salary_2027_amount)"


def test_contract_shape():
    out = read(d.budget_xlsx(cached=True)).as_dict()
    assert set(out) == {"lines", "total", "total_source", "recomputed"}
    line = out["lines"][0]
    assert {"key", "line", "hours", "rate", "share", "amount", "source"} <= set(line)
    assert line["line"] == "Løn 2026"
    assert all(isinstance(v, str) or v is None for x in out["lines"] for k, v in x.items()
               if k in ("hours", "rate", "share", "amount"))


def test_rows_moved_with_names_updated_are_read_by_name():
    r = read(d.budget_xlsx(moved_rows=3, cached=True))
    assert r.method == "names"
    assert table(r) == EXPECTED_LINES
    assert r.lines[0]["source"] == "cell Budget!E8 (name salary_2026_amount)"


@pytest.mark.parametrize("names", ["drop", "stale"])
def test_rows_moved_without_usable_names_are_read_by_label(names):
    r = read(d.budget_xlsx(moved_rows=2, names=names, cached=True))
    assert r.problems == []
    assert r.method == "labels"
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"
    assert r.lines[2]["source"] == "cell Budget!E9 (label 'Aktivitetsmidler 2026')"


def test_numbers_typed_as_text_the_danish_way():
    wb = load_workbook(io.BytesIO(d.budget_xlsx(text_numbers=True)))
    assert wb["Budget"]["C5"].value == "334,00 kr." and wb["Budget"]["D6"].value == "75 %"
    r = read(d.budget_xlsx(text_numbers=True))
    assert r.problems == []
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"


def test_other_figures_are_read_exactly():
    values = {**d.SAMPLE_BUDGET,
              "salary_2026": {"hours": Decimal("1200"), "rate": Decimal("320.50"), "share": Decimal("1")},
              "activity_2027": {"amount": Decimal("15000.50")}}
    r = read(d.budget_xlsx(values))
    got = {x["key"]: x for x in r.lines}
    assert got["salary_2026"]["amount"] == "384600.00"
    assert got["activity_2027"]["amount"] == "15000.50"
    assert r.total == str(Decimal("384600.00") + Decimal("421731.75") + Decimal("20000") + Decimal("15000.50"))


def test_malformed_and_missing_values_are_problems_not_guesses():
    values = {**d.SAMPLE_BUDGET, "salary_2027": {"hours": Decimal("1649"), "rate": Decimal("341")},
              "activity_2026": {}}
    data = d.budget_xlsx(values)
    wb = load_workbook(io.BytesIO(data))
    wb["Budget"]["C5"] = "mange penge"
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue())
    c = codes(r)
    assert ("budget_value_malformed", "salary_2026.rate") in c
    assert ("budget_value_missing", "salary_2026.amount") in c  # cannot compute from a bad rate
    assert ("budget_value_missing", "salary_2027.share") in c
    assert ("budget_value_missing", "activity_2026.amount") in c
    assert ("budget_value_missing", "total.amount") in c
    malformed = next(p for p in r.problems if p["code"] == "budget_value_malformed")
    assert malformed["params"]["raw"] == "mange penge" and malformed["params"]["cell"] == "Budget!C5"
    got = {x["key"]: x for x in r.lines}
    assert got["salary_2026"]["amount"] is None and got["salary_2026"]["rate"] is None
    assert r.total is None


def test_a_foreign_sheet_with_labels_only():
    wb = Workbook()
    ws = wb.active
    ws.title = "Ark1"
    ws.append(["Vores budget"])
    ws.append([])
    ws.append(["Post", "Timer", "Timesats", "Andel", "Beløb"])
    ws.append(["Løn 2026", 1649, 334, 1, 550766])
    ws.append(["Løn 2027:", 1649, 341, 0.75, 421731.75])
    ws.append(["Aktivitetsmidler 2026", None, None, None, "20.000,00 kr."])
    ws.append(["aktivitetsmidler 2027", None, None, None, 20000])
    ws.append(["I alt ansøgt", None, None, None, 1012497.75])
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue())
    assert r.problems == []
    assert r.method == "labels"
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"


def test_missing_line_and_unrecognised_sheet():
    wb = Workbook()
    ws = wb.active
    ws.append(["Løn 2026", 1649, 334, 1, 550766])
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue())
    assert ("budget_line_missing", "salary_2027") in codes(r)
    assert ("budget_line_missing", "total") in codes(r)
    wb = Workbook()
    wb.active.append(["Indkøbsliste", "mælk"])
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue())
    assert codes(r) == [("budget_not_recognised", None)]
    assert r.as_dict() == {}


def test_xlsm_reads_like_xlsx():
    data = d.budget_xlsx(vba=True, cached=True)
    assert filetype.detect(data) == filetype.XLSM
    r = read(data)
    assert table(r) == EXPECTED_LINES and r.total == "1012497.75"


def test_xls_by_labels():
    data = d.budget_xls()
    assert filetype.detect(data) == filetype.XLS
    r = read(data)
    assert r.problems == []
    assert r.method == "labels"
    assert table(r) == EXPECTED_LINES
    assert r.total == "1012497.75"


def test_ods_by_named_ranges():
    data = d.budget_ods()
    assert filetype.detect(data) == filetype.ODS
    r = read(data)
    assert r.problems == [] and r.method == "names"
    assert table(r) == EXPECTED_LINES
    assert r.total_source == "cell Budget!E9 (name total)"


def test_ods_without_names_or_results_is_read_by_label_and_computed():
    r = read(d.budget_ods(named=False, cached=False))
    assert r.problems == [] and r.method == "labels"
    assert table(r) == EXPECTED_LINES
    assert "salary_2027.amount" in r.recomputed


def test_password_protected_budget():
    data = d.encrypt_office(d.budget_xlsx())
    assert filetype.detect(data) == filetype.OFFICE_ENCRYPTED
    r = read(data)
    assert codes(r) == [("budget_encrypted", None)]
    assert r.as_dict() == {}


def test_budget_sent_as_pdf():
    assert codes(read(d.many_pages_pdf(1))) == [("budget_is_pdf", None)]


def test_unsupported_type():
    r = read_budget(b"hello", "docx", FM, max_cells=100)
    assert codes(r) == [("budget_unsupported", None)]
    assert r.problems[0]["params"] == {"type": "docx"}


@pytest.mark.parametrize("kind", ["xlsx", "xlsm", "xls", "ods"])
def test_corrupt_files_never_raise(kind):
    for data in (b"", b"PK\x03\x04 not really", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
                 d.budget_xlsx()[:600]):
        r = read_budget(data, kind, FM, max_cells=1000)
        assert [c for c, _ in codes(r)] == ["budget_corrupt"]


def test_too_many_cells_refused():
    wb = Workbook()
    ws = wb.active
    for _ in range(1, 120):
        ws.append(list(range(10)))
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue(), max_cells=500)
    assert codes(r) == [("budget_too_many_cells", None)]
    assert r.problems[0]["params"]["max_cells"] == 500
    for data in (d.budget_xls(), d.budget_ods()):
        assert codes(read(data, max_cells=5)) == [("budget_too_many_cells", None)]


def test_float_noise_and_uncomputable_inputs():
    data = d.budget_xlsx()
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Budget"]
    ws["D6"] = 0.1 + 0.65  # 0.75 with binary noise
    ws["C5"] = "=300+34"  # a formula in an input cell, no cached value
    buf = io.BytesIO()
    wb.save(buf)
    r = read(buf.getvalue())
    got = {x["key"]: x for x in r.lines}
    assert got["salary_2027"]["share"] == "0.75"
    assert ("budget_value_missing", "salary_2026.rate") in codes(r)
    assert got["salary_2026"]["amount"] is None


def test_xlsb_is_unsupported_not_corrupt():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00")
    r = read(buf.getvalue())
    assert codes(r) == [("budget_unsupported", None)]
    assert r.problems[0]["params"] == {"type": "xlsb"}


_money = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2, allow_nan=False, allow_infinity=False)
_salary = st.fixed_dictionaries({
    "hours": st.integers(min_value=0, max_value=3000).map(Decimal),
    "rate": st.decimals(min_value=0, max_value=Decimal("999.99"), places=2, allow_nan=False, allow_infinity=False),
    "share": st.integers(min_value=0, max_value=100).map(lambda p: Decimal(p) / 100),
})


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(_salary, _salary, _money, _money, st.booleans(), st.booleans(), st.integers(0, 3),
       st.sampled_from(["moved", "stale", "drop"]))
def test_any_budget_reads_back(s26, s27, a26, a27, cached, text_numbers, moved, names):
    def amount(s):
        return (s["hours"] * s["rate"] * s["share"]).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")

    values = {"salary_2026": {**s26, "amount": amount(s26)}, "salary_2027": {**s27, "amount": amount(s27)},
              "activity_2026": {"amount": a26}, "activity_2027": {"amount": a27}}
    total = sum(v["amount"] for v in values.values())
    values["total"] = {"amount": total}
    r = read(d.budget_xlsx(values, cached=cached, text_numbers=text_numbers, moved_rows=moved, names=names))
    assert r.problems == []
    got = {x["key"]: x for x in r.lines}
    for key in ("salary_2026", "salary_2027"):
        v = values[key]
        assert Decimal(got[key]["hours"]) == v["hours"]
        assert Decimal(got[key]["rate"]) == v["rate"]
        assert Decimal(got[key]["share"]) == v["share"]
        assert got[key]["amount"] == str(v["amount"])
    assert got["activity_2026"]["amount"] == str(a26) and got["activity_2027"]["amount"] == str(a27)
    assert r.total == str(total.quantize(Decimal("0.01")))
