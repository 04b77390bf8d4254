"""Which attachment is the form and which the budget: by content type first, then by name."""

from __future__ import annotations

from intake.extraction import AttachmentInfo, assign_roles
from parsers.fieldmap import load_fieldmap


def roles(*files, max_bytes=1000):
    infos = [AttachmentInfo(name, None, detected, size, "0" * 64) for name, detected, size in files]
    assign_roles(infos, max_bytes, load_fieldmap())
    return [a.role for a in infos]


def test_a_pdf_and_a_spreadsheet_are_form_and_budget_whatever_their_names():
    assert roles(("scan.pdf", "pdf", 10), ("Ark1.xlsx", "xlsx", 10)) == ["form", "budget"]
    assert roles(("x.bin", "xls", 10), ("y", "pdf", 10)) == ["budget", "form"]


def test_among_several_pdfs_the_one_named_as_the_application_is_the_form():
    assert roles(("Bilag 1.pdf", "pdf", 10), ("Ansøgningsskema udfyldt.pdf", "pdf", 10),
                 ("Budget.xlsx", "xlsx", 10)) == ["bilag", "form", "budget"]


def test_a_pdf_named_budget_is_the_budget_sent_as_pdf_not_the_form():
    assert roles(("Ansoegning.pdf", "pdf", 10), ("Budget 2026-27.pdf", "pdf", 10)) == ["form", "budget"]


def test_a_word_form_is_still_the_form_so_the_applicant_hears_it_cannot_be_read():
    assert roles(("Ansøgning.docx", "docx", 10), ("Budget.xlsx", "xlsx", 10)) == ["form", "budget"]


def test_an_encrypted_office_file_is_placed_by_its_name():
    assert roles(("Budget.xlsx", "office-encrypted", 10), ("a.pdf", "pdf", 10)) == ["budget", "form"]
    assert roles(("Ansøgning.docx", "office-encrypted", 10)) == ["form"]


def test_a_file_above_the_limit_is_not_read_and_cannot_be_the_form():
    assert roles(("Ansøgning.pdf", "pdf", 5000), ("Budget.xlsx", "xlsx", 10)) == ["for stor", "budget"]


def test_a_signature_logo_is_not_taken_for_a_photographed_form():
    assert roles(("image001.png", "png", 8_000), ("Budget.xlsx", "xlsx", 10),
                 max_bytes=10**6) == ["bilag", "budget"]
    assert roles(("IMG_2041.jpg", "jpeg", 2_000_000), max_bytes=10**7) == ["form"]
    assert roles(("ansøgning.png", "png", 8_000), max_bytes=10**6) == ["form"]


def test_nothing_fitting_leaves_everything_as_bilag():
    assert roles(("noter.txt", "text", 10), ("data.zip", "zip", 10)) == ["bilag", "bilag"]


def test_extraction_calls_the_readers_through_their_protocols(workdir):
    """Readers that fit parsers/readers.py's protocols can stand in for ours: the seam is typed."""
    import datetime as dt
    from dataclasses import dataclass

    from conftest import write_settings

    from intake.documents.samples import make_mail, minimal_pdf
    from intake.extraction import extract_application
    from intake.pool import load_pool
    from intake.settings import load_settings
    from parsers.budget import BudgetReading
    from parsers.codes import ProblemCode, finding
    from parsers.form import FormReading
    from parsers.mime import parse_mail
    from parsers.readers import READERS, Readers

    @dataclass
    class Context:
        settings: object
        pool: object
        now: object

    seen = []

    def form(data, fieldmap, *, max_pages, sizes):
        seen.append(("form", max_pages, sizes.max_pdf_stream_bytes))
        return FormReading(values={"org_name": {"value": "Boligselskabet Nord", "raw": "x", "source": "t"}},
                           problems=[finding(ProblemCode.FIELD_NEEDS_REVIEW, "hire_type", reason="test")],
                           recognised=True)

    def budget(data, detected_type, fieldmap, *, max_cells, sizes):
        seen.append(("budget", detected_type, max_cells, sizes.max_unzipped_bytes))
        return BudgetReading(problems=[finding(ProblemCode.BUDGET_NOT_RECOGNISED)])

    import io

    import openpyxl

    sheet = io.BytesIO()
    openpyxl.Workbook().save(sheet)
    raw = make_mail("Ansøgning – Pulje til sociale viceværter", attachments=[
        ("Ansøgning.pdf", minimal_pdf(), "application/pdf"),
        ("Budget.xlsx", sheet.getvalue(), "application/octet-stream")])
    settings = load_settings(write_settings(workdir, f"sqlite:///{workdir}/x.db",
                                            "[processing]\nmax_unzipped_bytes = 1000000\n"))
    ctx = Context(settings, load_pool("sociale-viceværter-2025"), lambda: dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    got = extract_application(parse_mail(raw), ctx, dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
                              readers=Readers(form=form, budget=budget, report=READERS.report))
    # the settings' limits: the defaults, and the one the settings file sets
    assert seen == [("form", 50, 64 * 1024 * 1024), ("budget", "xlsx", 200_000, 1_000_000)]
    assert got.fields["org_name"]["value"] == "Boligselskabet Nord"
    codes = [(p["code"], p["field"]) for p in got.problems]
    assert ("field_needs_review", "hire_type") in codes and ("budget_not_recognised", None) in codes
