"""Final reports: the five parts found by name or by text, each missing part named, 1½ pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fixturegen.reports import PARTS
from fixturegen.textpdf import prose, text_pdf

from intake.pool import load_pool
from intake.rules.base import Report
from intake.rules.registry import REPORT_RULES, run
from parsers import report as reader
from parsers.report import find_cvrs, pages_used

POOL = load_pool("sociale-viceværter-2025")
SPEC = POOL.report


def read_report(files):
    return reader.read_report(files, SPEC)


def parts_in_name(name):
    return reader.parts_in_name(name, SPEC)


def checked(files):
    """The report reader and then the report rules: every finding, the reader's and the rules'."""
    reading = read_report(files)
    subject = Report(received_at=dt.datetime(2028, 1, 20, tzinfo=dt.UTC), pool=POOL, attachments=[],
                     max_attachment_bytes=10_000_000, files=reading.files, findings=reading.problems)
    reading.problems = reading.problems + run(REPORT_RULES, subject)
    return reading


def _pdf(heading: str, lines: int = 10, extra_pages: list[int] = ()) -> bytes:
    return text_pdf([prose(lines, heading), *[prose(n) for n in extra_pages]])


def complete_report() -> list[tuple[str, bytes, str]]:
    return [
        ("Ledelseserklæring.pdf", _pdf("Erklæring fra ledelsen"), "pdf"),
        ("Faglig afrapportering.pdf", _pdf("Resultater", 50), "pdf"),
        ("Regnskab 2026-2027.pdf", _pdf("Regnskab"), "pdf"),
        ("Revisionsberetning.pdf", _pdf("Beretning"), "pdf"),
        ("Revisionsprotokollat.pdf", _pdf("Protokol"), "pdf"),
    ]


def codes(reading):
    return sorted(p["code"] for p in reading.problems)


def test_a_complete_report_by_file_names_has_no_problem():
    reading = checked(complete_report())
    assert reading.found == set(PARTS)
    assert reading.problems == []


def test_each_missing_part_is_its_own_problem():
    for i, part in enumerate(PARTS):
        files = complete_report()
        del files[i]
        reading = checked(files)
        assert codes(reading) == ["report_part_missing"]
        assert reading.problems[0]["field"] == part


def test_generic_file_names_are_classified_by_the_first_page_text():
    files = [
        ("scan001.pdf", _pdf("Ledelseserklæring for tilskud fra puljen"), "pdf"),
        ("dok2.pdf", _pdf("Faglig afrapportering – Boligselskabet Ærøhøj"), "pdf"),
        ("bilag 3.pdf", _pdf("Projektregnskab for sociale viceværter 2026-2027"), "pdf"),
        ("bilag 4.pdf", _pdf("Den uafhængige revisors erklæring"), "pdf"),
        ("bilag 5.pdf", _pdf("Revisionsprotokollat til projektregnskab"), "pdf"),
    ]
    reading = checked(files)
    assert [f.parts for f in reading.files] == [[p] for p in PARTS]
    assert all(f.how == "text" for f in reading.files)
    assert reading.problems == []


def test_names_with_danish_letters_written_plainly_still_match():
    assert parts_in_name("ledelseserklaering_underskrevet.PDF") == ["ledelseserklaering"]
    assert parts_in_name("Afrapportering.pdf") == ["faglig_afrapportering"]
    assert parts_in_name("regnskab og revisionsberetning.pdf") == ["revisionsberetning", "regnskab"]
    assert parts_in_name("foto.jpg") == []


def test_one_and_a_half_pages_pass_and_more_is_too_long():
    # the last page counted by its share of text compared with the first
    assert pages_used(1, ["x" * 100]) == 1
    assert pages_used(2, ["x" * 100, "x" * 50]) == Decimal("1.5")
    assert pages_used(2, ["x" * 100, "x" * 60]) == Decimal("1.6")
    assert pages_used(3, ["x", "x"]) == 3
    ok = checked([("Faglig afrapportering.pdf", _pdf("Resultater", 50, [20]), "pdf")])
    assert "report_too_long" not in codes(ok)
    long = checked([("Faglig afrapportering.pdf", _pdf("Resultater", 50, [45]), "pdf")])
    problem = next(p for p in long.problems if p["code"] == "report_too_long")
    assert problem["params"]["filename"] == "Faglig afrapportering.pdf"
    assert problem["params"]["pages"] == "1,9"


def test_unreadable_attachments_are_named_and_never_raise():
    reading = checked([("Regnskab.pdf", b"%PDF-1.4 broken", "pdf"),
                           ("Revisionsberetning.docx", b"PK\x03\x04", "docx")])
    assert "report_attachment_unreadable" in codes(reading)
    # the name still tells what it was meant to be
    assert reading.found == {"regnskab", "revisionsberetning"}


def test_cvr_numbers_in_the_text_with_a_valid_check_digit():
    assert find_cvrs("Boligselskabet, CVR-nr. 29 19 00 03, Aarhus. CVR: 12345678") == ["29190003"]
    files = [("Ledelseserklæring.pdf", text_pdf([["Ledelseserklæring", "CVR-nummer: 29190003"]]), "pdf")]
    assert read_report(files).cvrs == ["29190003"]
