"""Filling in the official documents as an applicant would: for the demo and the tests.

The form gets its AcroForm values set with pypdf (as a PDF viewer saves them);
the budget gets its input cells typed into the template with openpyxl (which,
like any program but a spreadsheet application, stores no formula results).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from parsers.fieldmap import FieldMap, load_fieldmap

if TYPE_CHECKING:  # openpyxl is imported when a budget is filled
    from openpyxl import Workbook

_TEMPLATES: dict[tuple[str, str], bytes] = {}


def template_pdf(fieldmap: FieldMap | None = None) -> bytes:
    """The empty official application form (made once per field map: embedding fonts takes time)."""
    from intake.documents.templates import application_form_pdf

    fm = fieldmap or load_fieldmap()
    if ("pdf", fm.name) not in _TEMPLATES:
        _TEMPLATES["pdf", fm.name] = application_form_pdf(fm)
    return _TEMPLATES["pdf", fm.name]


def template_xlsx(fieldmap: FieldMap | None = None) -> bytes:
    """The empty official budget template (made once per field map)."""
    from intake.documents.templates import budget_template_xlsx

    fm = fieldmap or load_fieldmap()
    if ("xlsx", fm.name) not in _TEMPLATES:
        _TEMPLATES["xlsx", fm.name] = budget_template_xlsx(fm)
    return _TEMPLATES["xlsx", fm.name]


def pdf_field_values(values: dict[str, str], fm: FieldMap) -> dict[str, str]:
    """Form keys → PDF field names; radio values become PDF names (``/Nyansaettelse``)."""
    out = {}
    for key, text in values.items():
        field = fm.field(key)
        out[field.pdf_field] = "/" + text if field.type == "choice" else text
    return out


def fill_form_pdf(values: dict[str, str], fieldmap: FieldMap | None = None,
                  template: bytes | None = None) -> bytes:
    """The official form with the given field texts (keys of the field map) filled in."""
    from pypdf import PdfReader, PdfWriter

    fm = fieldmap or load_fieldmap()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(template or template_pdf(fieldmap))))
    writer.update_page_form_field_values(None, pdf_field_values(values, fm), auto_regenerate=False)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def budget_workbook(fieldmap: FieldMap | None = None) -> tuple[FieldMap, Workbook]:
    """The official budget template opened with openpyxl: (field map, workbook)."""
    from openpyxl import load_workbook

    fm = fieldmap or load_fieldmap()
    return fm, load_workbook(io.BytesIO(template_xlsx(fm)))


def cell_of(wb: Workbook, name: str) -> Any:
    """The cell a workbook defined name points at."""
    (sheet, ref), = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "")]


def fill_budget_xlsx(values: dict[str, dict[str, Decimal]], fieldmap: FieldMap | None = None) -> bytes:
    """The budget template with input cells typed in; formula cells are left to compute."""
    fm, wb = budget_workbook(fieldmap)
    for line in (*fm.budget.lines, fm.budget.total):
        for part, name in line.names.items():
            cell = cell_of(wb, name)
            if isinstance(cell.value, str) and cell.value.startswith("="):
                continue
            value = values.get(line.key, {}).get(part)
            if value is None:
                cell.value = None
            else:
                cell.value = int(value) if value == value.to_integral_value() else float(value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
