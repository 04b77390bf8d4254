"""The official documents: the fillable application form (PDF) and the budget template (XLSX).

Both are generated from the field map (``config/fields/application-v1.toml``), so
the names the readers look for are exactly the names written here.

Stable API::

    write_templates(out_dir: Path, fieldmap: FieldMap | None = None) -> list[Path]
    application_form_pdf(fieldmap: FieldMap) -> bytes
    budget_template_xlsx(fieldmap: FieldMap) -> bytes
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, cast

from parsers.fieldmap import FieldMap, FormField, load_fieldmap

log = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# Page geometry (points, A4).
_PAGE_W, _PAGE_H = 595.28, 841.89
_LEFT, _RIGHT, _TOP, _BOTTOM = 50.0, 545.0, 790.0, 60.0
_FIELD_X = 250.0
_ROW = 26.0
_FIELD_H = 18.0
_MULTI_H = 110.0


def _fonts() -> tuple[str, str]:
    """Register DejaVuSans (all European letters); fall back to Helvetica if it is missing."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        log.warning("DejaVuSans not found in %s: the form uses Helvetica", FONT_DIR)
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


def _footer_text(fm: FieldMap, page: int, pages: int) -> str:
    # Starts with one of the map's stop_texts, so the label reader never takes it for a value.
    return f"Pulje til sociale viceværter · Ansøgningsskema version {fm.form_version} · side {page} af {pages}"


def _box(x: float, y: float, width: float | None = None, height: float | None = None) -> dict[str, Any]:
    """Where a form field goes, in points, with our border width.

    reportlab takes fractional points; its type stubs ask for int, which would move the fields.
    """
    box: dict[str, Any] = {"x": x, "y": y, "borderWidth": 0.8}
    if width is not None and height is not None:
        box.update(width=width, height=height)
    return box


def _layout(fm: FieldMap) -> list[list[str | FormField]]:
    """Split sections over pages: a list of pages, each a list of headings (text) and fields."""
    pages: list[list[str | FormField]] = [[]]
    y = _TOP - 95  # room for the title block on page 1
    for section in fm.sections:
        fields = [fm.field(k) for k in section.keys]
        need = 30 + sum((_MULTI_H + 30) if f.multiline else _ROW for f in fields)
        if y - need < _BOTTOM:
            pages.append([])
            y = _TOP
        pages[-1].append(section.heading)
        pages[-1].extend(fields)
        y -= need
    return pages


def application_form_pdf(fm: FieldMap) -> bytes:
    """The fillable application form: one AcroForm field per key, Danish labels beside them."""
    from reportlab.lib.colors import Color, black, white
    from reportlab.pdfgen import canvas

    font, bold = _fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(_PAGE_W, _PAGE_H))
    c.setTitle(f"{fm.title} (version {fm.form_version})")
    c.setAuthor(fm.owner)
    c.setSubject(f"form_version={fm.form_version}")
    c.setKeywords(f"pulje-intake {fm.name} form_version={fm.form_version}")
    border, fill = Color(0.35, 0.35, 0.45), Color(0.93, 0.95, 1.0)
    form = c.acroForm
    pages = _layout(fm)

    for page_no, items in enumerate(pages, 1):
        y = _TOP
        if page_no == 1:
            c.setFont(bold, 15)
            c.drawString(_LEFT, y, fm.title)
            c.setFont(font, 9)
            c.drawString(_LEFT, y - 16, f"Version {fm.form_version} · {fm.owner}")
            intro = [
                "Udfyld felterne direkte i PDF-filen, gem den, og send den sammen med budgettet",
                "til pulje@bl.dk med emnet \u201dAnsøgning – Pulje til sociale viceværter\u201d.",
                "Beløb og tal skrives på dansk, fx 1.012.497,75 og 1,5. Datoer fx 1.1.2026.",
            ]
            for i, line in enumerate(intro):
                c.drawString(_LEFT, y - 36 - 12 * i, line)
            y -= 95
        for item in items:
            if isinstance(item, str):  # a section's heading
                y -= 8
                c.setFont(bold, 11.5)
                c.drawString(_LEFT, y, str(item))
                c.setLineWidth(0.5)
                c.line(_LEFT, y - 4, _RIGHT, y - 4)
                y -= 22
                continue
            f = item
            c.setFont(font, 9.5)
            if f.multiline:
                c.drawString(_LEFT, y, f.label)
                top = y - 6
                form.textfield(
                    name=f.pdf_field, tooltip=f.label, **_box(_LEFT, top - _MULTI_H, _RIGHT - _LEFT, _MULTI_H),
                    fieldFlags="multiline", fontName="Helvetica", fontSize=10,
                    borderColor=border, fillColor=fill, textColor=black, maxlen=100000,
                )
                y = top - _MULTI_H - 24
            elif f.type == "choice":
                c.drawString(_LEFT, y, f.label)
                x = _FIELD_X
                for opt in f.options:
                    form.radio(
                        name=f.pdf_field, tooltip=f"{f.label}: {opt.label}", value=opt.export,
                        selected=False, **_box(x, y - 4), size=12, buttonStyle="circle",
                        borderColor=border, fillColor=white, textColor=black, forceBorder=True,
                    )
                    c.drawString(x + 17, y, opt.label)
                    x += 17 + c.stringWidth(opt.label, font, 9.5) + 20
                y -= _ROW
            else:
                c.drawString(_LEFT, y, f.label)
                form.textfield(
                    name=f.pdf_field, tooltip=f.label, **_box(_FIELD_X, y - 5, _RIGHT - _FIELD_X, _FIELD_H),
                    fontName="Helvetica", fontSize=10, borderColor=border,
                    fillColor=fill, textColor=black, maxlen=1000,
                )
                y -= _ROW
        c.setFont(font, 7.5)
        c.drawString(_LEFT, 35, _footer_text(fm, page_no, len(pages)))
        c.showPage()
    c.save()
    return buf.getvalue()


def budget_template_xlsx(fm: FieldMap) -> bytes:
    """The budget template: sheet ``Budget``, formulas for amounts and total, a defined name per value cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.worksheet import Worksheet

    b = fm.budget
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook has one worksheet
    ws.title = b.sheet
    cols = b.columns
    ws["A1"] = f"Budget – {fm.title.split('–', 1)[-1].strip()}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Budgetskabelon version {fm.form_version} · {fm.owner}"
    ws["A3"] = "Udfyld de lyse felter. Beløb beregnes automatisk. Satserne forudsætter fuldtidsansættelse."
    ws["A3"].font = Font(italic=True, size=9)
    hdr = b.header_row
    for key, col in [("line", b.label_column), *cols.items()]:
        cell = ws[f"{col}{hdr}"]
        cell.value = b.headers[key]
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="left" if key == "line" else "right")

    formats = {"hours": "#,##0", "rate": '#,##0.00 "kr."', "share": "0 %", "amount": '#,##0.00 "kr."'}
    input_fill = PatternFill("solid", fgColor="EEF2FF")
    thin = Side(style="thin", color="8090A0")

    def name(key: str, ref: str) -> None:
        wb.defined_names[key] = DefinedName(key, attr_text=f"{b.sheet}!${ref[0]}${ref[1:]}")

    row = hdr + 1
    first = row
    for line in b.lines:
        ws[f"{b.label_column}{row}"] = line.label
        for part, defined in line.names.items():
            ref = f"{cols[part]}{row}"
            cell = ws[ref]
            cell.number_format = formats[part]
            if part == "amount" and "hours" in line.names:
                h, r, s = (f"{cols[p]}{row}" for p in ("hours", "rate", "share"))
                cell.value = f"=ROUND({h}*{r}*{s},2)"
            else:
                raw = line.template.get(part)
                cell.value = None if raw is None else (float(raw) if "." in raw else int(raw))
                cell.protection = Protection(locked=False)
                cell.fill = input_fill
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            name(defined, ref)
        row += 1
    last = row - 1
    total = b.total
    ws[f"{b.label_column}{row}"] = total.label
    ws[f"{b.label_column}{row}"].font = Font(bold=True)
    ref = f"{cols['amount']}{row}"
    ws[ref] = f"=SUM({cols['amount']}{first}:{cols['amount']}{last})"
    ws[ref].number_format = formats["amount"]
    ws[ref].font = Font(bold=True)
    name(total.names["amount"], ref)

    ws.column_dimensions[b.label_column].width = 28
    for col in cols.values():
        ws.column_dimensions[col].width = 16
    ws.protection.sheet = True  # no password: it only guards the formulas against slips
    wb.properties.title = f"Budgetskabelon – Pulje til sociale viceværter (version {fm.form_version})"
    wb.properties.keywords = f"pulje-intake {fm.name} form_version={fm.form_version}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_templates(out_dir: Path, fieldmap: FieldMap | None = None) -> list[Path]:
    """Write the application form and the budget template into ``out_dir``; return the paths."""
    fm = fieldmap or load_fieldmap()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / fm.form_filename
    pdf.write_bytes(application_form_pdf(fm))
    xlsx = out_dir / fm.budget.filename
    xlsx.write_bytes(budget_template_xlsx(fm))
    return [pdf, xlsx]
