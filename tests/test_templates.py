"""The official documents: what an applicant downloads must be fillable and readable back."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from docbuilders import SAMPLE_VALUES, fill_form
from openpyxl import load_workbook
from pypdf import PdfReader

from intake.commands.cli import main
from intake.documents.templates import FONT_DIR, application_form_pdf, budget_template_xlsx
from parsers.danish import municipalities as load_municipalities
from parsers.fieldmap import load_fieldmap

FM = load_fieldmap()


def test_field_map_covers_every_form_key_of_the_spec():
    assert FM.form_version == "1.0"
    assert FM.keys == [
        "org_name", "cvr", "address", "contact_name", "contact_email", "contact_phone",
        "departments", "municipality", "partners", "fte", "hire_type", "start_date",
        "referrals", "evictions", "rent_level", "collaboration", "organisation",
        "target_group", "amount_requested", "signatory", "signed_date",
    ]
    assert sorted(k for s in FM.sections for k in s.keys) == sorted(FM.keys)
    assert [line.key for line in FM.budget.lines] == ["salary_2026", "salary_2027", "activity_2026", "activity_2027"]


def test_municipalities_are_the_98_official_ones():
    m = load_municipalities()
    assert len(m.names) == len(set(m.names)) == 98
    for name in ("Høje-Taastrup", "Lyngby-Taarbæk", "Ærø", "Aabenraa", "Aarhus", "Ringkøbing-Skjern",
                 "Brønderslev", "Vesthimmerlands", "København", "Bornholm", "Nordfyns"):
        assert name in m.names


@pytest.fixture(scope="module")
def form_pdf() -> bytes:
    return application_form_pdf(FM)


def test_form_has_one_field_per_key(form_pdf):
    fields = PdfReader(io.BytesIO(form_pdf)).get_fields()
    assert sorted(fields) == sorted(f.pdf_field for f in FM.fields)
    radio = fields["hire_type"]
    assert radio["/FT"] == "/Btn"
    assert sorted(radio["/_States_"]) == ["/Forstaerkning", "/Nyansaettelse"]


def test_form_prints_labels_version_and_danish_letters(form_pdf):
    reader = PdfReader(io.BytesIO(form_pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for f in FM.fields:
        assert f.label in text, f.label
    assert "Version 1.0" in text
    assert "Forstærkning" in text and "Nyansættelse" in text
    fonts = {str(font) for p in reader.pages for font in p["/Resources"]["/Font"].values()
             for font in [font.get_object()["/BaseFont"]]}
    if (FONT_DIR / "DejaVuSans.ttf").is_file():
        assert any("DejaVuSans" in f for f in fonts), fonts


def test_filled_form_reads_back_with_pypdf(form_pdf):
    filled = fill_form(SAMPLE_VALUES, template=form_pdf)
    fields = PdfReader(io.BytesIO(filled)).get_fields()
    assert fields["org_name"]["/V"] == "Boligselskabet Ærøhøj"
    assert fields["signatory"]["/V"] == "Jørgen Ålund"
    assert fields["collaboration"]["/V"].startswith("Vi samarbejder tæt")
    assert str(fields["hire_type"]["/V"]).lstrip("/") == "Nyansaettelse"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_form_renders(form_pdf, tmp_path):
    src = tmp_path / "form.pdf"
    src.write_bytes(form_pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(src), str(tmp_path / "p")],
                   check=True, capture_output=True)
    assert list(tmp_path.glob("p*.png"))


def test_budget_template_names_formulas_protection():
    wb = load_workbook(io.BytesIO(budget_template_xlsx(FM)))
    ws = wb[FM.budget.sheet]
    names = set(wb.defined_names)
    expected = {n for line in FM.budget.lines for n in line.names.values()} | {"total"}
    assert expected <= names
    cells = {}
    for name in expected:
        (sheet, ref), = wb.defined_names[name].destinations
        assert sheet == "Budget"
        cells[name] = ws[ref.replace("$", "")]
    assert cells["salary_2026_amount"].value == "=ROUND(B5*C5*D5,2)"
    assert cells["total"].value == "=SUM(E5:E8)"
    assert cells["salary_2027_rate"].value == 341
    assert cells["salary_2027_share"].value == 0.75
    assert cells["activity_2026_amount"].value == 20000
    assert ws.protection.sheet is True
    assert not ws.protection.password
    for name, cell in cells.items():
        is_formula = isinstance(cell.value, str) and cell.value.startswith("=")
        assert cell.protection.locked is is_formula, name
    assert ws["A5"].value == "Løn 2026" and ws["A9"].value == "I alt ansøgt"
    assert cells["salary_2026_share"].number_format == "0 %"


def test_templates_command_writes_both_files(tmp_path, capsys):
    assert main(["templates", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "ansoegningsskema-v1.0.pdf" in out and "budgetskabelon-v1.0.xlsx" in out
    assert (tmp_path / "out" / "ansoegningsskema-v1.0.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "out" / "budgetskabelon-v1.0.xlsx").read_bytes().startswith(b"PK")


def test_form_falls_back_to_helvetica_without_dejavu(monkeypatch, tmp_path):
    import intake.documents.templates as templates

    monkeypatch.setattr(templates, "FONT_DIR", tmp_path / "no-fonts")
    data = templates.application_form_pdf(FM)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.get_fields()) == len(FM.fields)
    assert "Forventet ansættelsesdato" in reader.pages[0].extract_text()


def test_templates_command_says_why_it_cannot_write(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["templates", "--out", str(blocker / "out")]) == 1
    assert "cannot write the templates" in capsys.readouterr().err
