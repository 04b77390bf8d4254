"""Issue #9: each reader refuses a bomb from what the file declares, before a library builds it,
with the problem that tells the applicant what to send instead; never a wrong value."""

from __future__ import annotations

import io
import zipfile

import hostile
import pytest
from docbuilders import budget_ods, budget_xlsx, fill_form, many_pages_pdf

from intake.pool import load_pool
from parsers import filetype
from parsers.budget import read_budget
from parsers.fieldmap import load_fieldmap
from parsers.form import read_application_form
from parsers.report import read_report

FM = load_fieldmap()


def codes(reading) -> list[str]:
    return [p["code"] for p in reading.problems]


@pytest.mark.parametrize("make, code, params", [
    (lambda: hostile.xlsx_sheet_bomb(1 << 30), "budget_unpacks_too_large", {"limit": "32 MB"}),
    (lambda: hostile.xlsx_shared_string_bomb(1 << 30), "budget_unpacks_too_large", {"limit": "32 MB"}),
    (lambda: hostile.xlsx_no_dimension(500_000), "budget_too_many_cells", {"max_cells": 200_000}),
])
def test_the_three_xlsx_bombs_are_refused_before_openpyxl_reads_them(make, code, params, monkeypatch):
    import openpyxl

    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a) or pytest.fail("opened"))
    reading = read_budget(make(), "xlsx", FM, max_cells=200_000)
    assert opened == []  # refused from the zip directory and a streamed count, not by openpyxl
    assert codes(reading) == [code]
    assert params.items() <= reading.problems[0]["params"].items()
    assert reading.lines == [] and reading.total is None


def test_a_tightly_packed_sheet_is_refused_for_its_ratio_below_the_size_limit():
    # 8 MB of one repeated cell packs about a thousandfold: no sheet typed by a person does that
    reading = read_budget(hostile.xlsx_sheet_bomb(8 << 20), "xlsx", FM, max_cells=200_000)
    assert codes(reading) == ["budget_packed_too_tightly"]
    assert reading.problems[0]["params"]["max_ratio"] == 100


def test_a_zip_of_too_many_members_is_refused_from_its_end_record():
    member = hostile._deflated(b"<x/>")
    members = [("[Content_Types].xml", *member)] + [(f"xl/m{i}.xml", *member) for i in range(1500)]
    reading = read_budget(hostile.zip_of(members), "xlsx", FM, max_cells=200_000)
    assert codes(reading) == ["budget_too_many_parts"]
    assert reading.problems[0]["params"] == {"parts": 1501, "max_parts": 1000}


def test_limits_come_from_the_caller():
    from parsers.limits import SizeLimits

    small = SizeLimits(max_unzipped_bytes=1000)
    assert codes(read_budget(budget_xlsx(), "xlsx", FM, max_cells=200_000, sizes=small)) == ["budget_unpacks_too_large"]
    assert codes(read_budget(budget_xlsx(), "xlsx", FM, max_cells=200_000)) == []


def test_an_ods_with_too_many_cells_is_refused_before_odfpy_builds_it():
    data = budget_ods()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    cells = b"".join(b'<table:table-row><table:table-cell office:value-type="float" office:value="%d"/>'
                     b"</table:table-row>" % i for i in range(250_000))
    parts["content.xml"] = parts["content.xml"].replace(b"</table:table>", cells + b"</table:table>", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    assert codes(read_budget(out.getvalue(), "ods", FM, max_cells=200_000)) == ["budget_too_many_cells"]


def test_two_cells_far_apart_are_two_cells_not_a_rectangle():
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(budget_xlsx()))
    wb["Budget"]["XFD1048576"] = 1
    out = io.BytesIO()
    wb.save(out)
    reading = read_budget(out.getvalue(), "xlsx", FM, max_cells=200_000)
    assert codes(reading) == [] and reading.total == "1012497.75"


def test_the_pdf_inflate_bomb_is_refused_before_pdfplumber_reads_a_page(monkeypatch):
    import pdfplumber

    opened = []
    monkeypatch.setattr(pdfplumber, "open", lambda *a, **k: opened.append(a) or pytest.fail("opened"))
    reading = read_application_form(hostile.pdf_inflate_bomb(1 << 30), FM, max_pages=50)
    assert opened == []
    assert codes(reading) == ["form_unpacks_too_large"]
    assert reading.problems[0]["params"]["limit"] == "64 MB"  # and "size": what inflated before we stopped
    assert reading.values == {}


def test_a_page_description_too_long_to_tokenise_is_refused():
    # 2 MB of path operators: far below the stream limit, but minutes in pdfminer
    reading = read_application_form(hostile.pdf_inflate_bomb(2 << 20), FM, max_pages=50)
    assert codes(reading) == ["form_unpacks_too_large"]
    assert reading.problems[0]["params"]["limit"] == "1 MB"


def test_a_page_tree_that_contains_itself_is_a_corrupt_form():
    reading = read_application_form(hostile.pdf_page_tree_loop(), FM, max_pages=50)
    assert codes(reading) == ["form_corrupt"] and reading.values == {}


def test_5000_pages_are_counted_not_read():
    reading = read_application_form(many_pages_pdf(5000), FM, max_pages=50)
    assert codes(reading) == ["form_too_many_pages"]
    assert reading.problems[0]["params"] == {"pages": 5000, "max_pages": 50}


def test_a_real_form_passes_the_checks_with_its_values():
    reading = read_application_form(fill_form(), FM, max_pages=50)
    assert reading.values["cvr"]["value"] == "29190003"


def test_report_reader_says_which_file_it_did_not_open():
    spec = load_pool("sociale-viceværter-2025").report
    reading = read_report([("faglig afrapportering.pdf", hostile.pdf_inflate_bomb(1 << 30), "pdf")], spec,
                          max_pages=50)
    assert [(p["code"], p["params"]["filename"]) for p in reading.problems] == [
        ("report_attachment_unreadable", "faglig afrapportering.pdf")]
    assert "pakkes ud" in reading.problems[0]["params"]["reason"]


def test_file_type_is_told_without_unpacking_a_bomb_named_mimetype(monkeypatch):
    reads = []
    real = zipfile.ZipExtFile.read
    monkeypatch.setattr(zipfile.ZipExtFile, "read", lambda self, n=-1: reads.append(n) or real(self, n))
    head, crc, size = hostile._deflated(b"application/vnd.oasis.opendocument.spreadsheet")
    body, crc2, size2 = hostile._deflated(b"x", b"xxxxxxxx", 1 << 30)
    data = hostile.zip_of([("mimetype", head, crc, size), ("content.xml", body, crc2, size2)])
    assert filetype.detect(data) == filetype.ODS
    bomb, crc3, size3 = hostile._deflated(b"application/vnd.oasis.opendocument.spreadsheet", b" ", 1 << 30)
    assert filetype.detect(hostile.zip_of([("mimetype", bomb, crc3, size3)])) == filetype.ODS
    assert reads and all(0 < n <= 200 for n in reads)  # never "read it all"


def test_patterns_on_page_text_do_not_backtrack():
    from parsers.report import find_cvrs

    # "CVR" and a page of spaces took 11 s per 20,000 with two runs of separators side by side
    assert find_cvrs("CVR" + " " * 200_000 + "x") == []
    assert find_cvrs("CVR-nr.: 29190003 og cvr nummer 3456 7891") == ["29190003", "34567891"]
