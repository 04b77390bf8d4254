"""Builders for realistic application documents, shared by the tests and the fixture generator.

Every builder returns bytes and needs nothing beyond the runtime and test
dependencies. Form builders start from the official template
(``intake.documents.templates``), so they follow the field map.

Form (PDF)::

    SAMPLE_VALUES                                  # form key -> text as an applicant writes it
    template_pdf() -> bytes                        # the empty official form
    fill_form(values, template=None) -> bytes      # AcroForm values set with pypdf
    flatten_form(values) -> bytes                  # filled, then flattened by pypdf (no fields)
    print_form(values) -> bytes                    # "printed to PDF": labels and values drawn
                                                   #   as text at the template's positions
    print_form(values, ocr_scan=True) -> bytes     # a scan with an invisible OCR text layer
    draw_form_text(values) -> bytes                # a plain text layout "label  value" (reportlab)
    annotate_form(values) -> bytes                 # empty fields, values typed on top as FreeText
    browser_print(data) -> bytes                   # + date/title header and address/page footer
    cairo_print(data) -> bytes                     # a real print to PDF (pdftocairo, poppler-utils)
    scan_pdf(pages=1) -> bytes                     # image-like pages, no characters at all
    unmapped_text_pdf() -> bytes                   # glyphs without letters ("(cid:NN)")
    encrypt_pdf(data, user_password="hemmelig") -> bytes
    many_pages_pdf(pages) -> bytes

Budget (XLSX/XLS/ODS)::

    SAMPLE_BUDGET                                  # line key -> {hours, rate, share, amount}
    budget_xlsx(values=None, *, cached=False, text_numbers=False,
                moved_rows=0, drop_names=False, vba=False) -> bytes
    budget_xls(values=None) -> bytes               # xlwt, labels in column A
    budget_ods(values=None, *, named=True) -> bytes  # odfpy, optional named ranges
    encrypt_office(data, password="hemmelig") -> bytes  # msoffcrypto-tool (OLE2 EncryptedPackage)
"""

from __future__ import annotations

import io
from decimal import Decimal

from intake.documents import filling
from intake.documents.samples import assemble_pdf
from parsers import danish
from parsers.fieldmap import FieldMap, load_fieldmap

# A complete application as an applicant would type it (Danish formats, æøå).
SAMPLE_VALUES: dict[str, str] = {
    "org_name": "Boligselskabet Ærøhøj",
    "cvr": "29190003",
    "address": "Søndergade 12, 8000 Aarhus C",
    "contact_name": "Mette Højgaard Sørensen",
    "contact_email": "mette@aeroehoej.dk",
    "contact_phone": "+45 12 34 56 78",
    "departments": "Afd. 7 Skovgården og afd. 9 Åbyhøj",
    "municipality": "Aarhus Kommune",
    "partners": "Aarhus Kommune, Socialforvaltningen; Boligforeningen Østbo",
    "fte": "1,5",
    "hire_type": "Nyansaettelse",
    "start_date": "1. januar 2026",
    "referrals": "42",
    "evictions": "7",
    "rent_level": "950,50",
    "collaboration": "Vi samarbejder tæt med kommunens bostøtte og hjemløseenhed.\r"
                     "Der holdes møde hver måned med afdelingsbestyrelsen.",
    "organisation": "Den sociale vicevært ansættes i boligorganisationen og refererer til driftschefen.",
    "target_group": "Beboere med hjemløshedsbaggrund, der er anvist af kommunen. Forventet effekt: "
                    "færre udsættelser og mere trivsel i området.",
    "amount_requested": "1.012.497,75",
    "signatory": "Jørgen Ålund",
    "signed_date": "28-07-2025",
}


def _fm(fieldmap: FieldMap | None) -> FieldMap:
    return fieldmap or load_fieldmap()


def template_pdf(fieldmap: FieldMap | None = None) -> bytes:
    """The empty official application form."""
    return filling.template_pdf(fieldmap)


def fill_form(values: dict[str, str] | None = None, template: bytes | None = None,
              fieldmap: FieldMap | None = None) -> bytes:
    """The official form with AcroForm values set (as a PDF viewer would save it)."""
    return filling.fill_form_pdf(SAMPLE_VALUES if values is None else values, fieldmap, template)


def flatten_form(values: dict[str, str] | None = None, fieldmap: FieldMap | None = None) -> bytes:
    """Filled, then flattened by pypdf: the values are page content, no fields remain."""
    from pypdf import PdfReader, PdfWriter

    fm = _fm(fieldmap)
    values = SAMPLE_VALUES if values is None else values
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(template_pdf(fm))))
    # Radios are left out on purpose: pypdf's flatten draws the wrong button anyway.
    text_values = {k: v for k, v in values.items() if fm.field(k).type != "choice"}
    writer.update_page_form_field_values(None, filling.pdf_field_values(text_values, fm), flatten=True)
    writer.remove_annotations(subtypes="/Widget")
    if "/AcroForm" in writer._root_object:
        del writer._root_object["/AcroForm"]
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for para in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}".strip()
            if line and stringWidth(trial, font, size) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def _font() -> str:
    from intake.documents.templates import _fonts

    return _fonts()[0]


def print_form(values: dict[str, str] | None = None, fieldmap: FieldMap | None = None,
               *, ocr_scan: bool = False) -> bytes:
    """The form "printed to PDF": every printed word of the template and each value drawn as
    plain text where the template has its field. No fields, no ticks for radio buttons.

    ``ocr_scan``: a scan with the scanner's OCR layer instead: a page-sized image with the
    same words as invisible text on top (text render mode 3)."""
    import pdfplumber
    from reportlab.pdfgen import canvas

    fm = _fm(fieldmap)
    values = SAMPLE_VALUES if values is None else values
    template = template_pdf(fm)
    font = _font()
    rects = _field_rects(template)  # where the template puts each field
    buf = io.BytesIO()

    def draw(c, x: float, y: float, text: str, size: float) -> None:
        t = c.beginText()
        t.setFont(font, size)
        t.setTextRenderMode(3 if ocr_scan else 0)
        t.setTextOrigin(x, y)
        t.textOut(text)
        c.drawText(t)

    with pdfplumber.open(io.BytesIO(template)) as pdf:
        width, height = float(pdf.pages[0].width), float(pdf.pages[0].height)
        c = canvas.Canvas(buf, pagesize=(width, height))
        for i, page in enumerate(pdf.pages):
            if ocr_scan:
                c.drawImage(_scan_image(), 0, 0, width, height)
            for word in page.extract_words(x_tolerance=3, return_chars=True):
                first = word["chars"][0]
                draw(c, word["x0"], first["matrix"][5], word["text"], round(first["size"], 1))  # [5]: baseline
            for key, text in values.items():
                f = fm.field(key)
                if f.type == "choice" or f.pdf_field not in rects:
                    continue
                page_no, (x0, y0, x1, y1) = rects[f.pdf_field]
                if page_no != i:
                    continue
                if f.multiline:
                    for n, part in enumerate(_wrap(text, font, 10, x1 - x0 - 4)):
                        draw(c, x0 + 2, y1 - 12 - 12 * n, part, 10)
                else:
                    draw(c, x0 + 2, y0 + 5, text, 10)
            c.showPage()
        c.save()
    return buf.getvalue()


def _scan_image():
    """A grey, page-shaped picture with dark bars, as a scanner delivers a page."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    img = Image.new("L", (210, 297), 235)
    pen = ImageDraw.Draw(img)
    for n in range(20):
        pen.rectangle((18, 20 + 12 * n, 60 + (n * 37) % 120, 24 + 12 * n), fill=60)
    return ImageReader(img)


def draw_form_text(values: dict[str, str] | None = None, fieldmap: FieldMap | None = None,
                   *, font: str = "Helvetica", choice_as_text: bool = False) -> bytes:
    """A different, plain layout: each label then its value on the same line (long texts
    wrapped onto the following lines), drawn with reportlab text only. With
    ``choice_as_text`` the chosen option is written out in words (as in a Word document)."""
    from reportlab.pdfgen import canvas

    fm = _fm(fieldmap)
    values = SAMPLE_VALUES if values is None else values
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595.28, 841.89))
    y = 800.0
    c.setFont(font, 13)
    c.drawString(40, y, fm.title)
    y -= 30
    for f in fm.fields:
        text = values.get(f.key, "")
        if f.type == "choice":  # a print shows a tick, not a word, unless typed out
            chosen = [o.label for o in f.options if o.export == text]
            text = chosen[0] if choice_as_text and chosen else ""
        lines = _wrap(text, font, 10, 330) if text else [""]
        if y - 14 * len(lines) < 50:
            c.showPage()
            y = 800.0
        c.setFont(font, 10)
        c.drawString(40, y, f.label + ":")
        for n, part in enumerate(lines):
            c.drawString(215, y - 14 * n, part)
        y -= 14 * len(lines) + 8
    c.showPage()
    c.save()
    return buf.getvalue()


def _field_rects(template: bytes) -> dict[str, tuple[int, list[float]]]:
    from pypdf import PdfReader

    rects: dict[str, tuple[int, list[float]]] = {}
    for i, page in enumerate(PdfReader(io.BytesIO(template)).pages):
        for annot in page.get("/Annots") or []:
            a = annot.get_object()
            name = a.get("/T") or a.get("/Parent", {}).get("/T")
            if name and name not in rects:
                rects[str(name)] = (i, [float(x) for x in a["/Rect"]])
    return rects


def annotate_form(values: dict[str, str] | None = None, fieldmap: FieldMap | None = None) -> bytes:
    """The official form with its fields left empty and the values typed on top as FreeText
    annotations, as "add text" tools in PDF viewers do."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText

    fm = _fm(fieldmap)
    values = SAMPLE_VALUES if values is None else values
    template = template_pdf(fm)
    rects = _field_rects(template)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(template)))
    for key, text in values.items():
        f = fm.field(key)
        if f.type == "choice" or not text or f.pdf_field not in rects:
            continue
        page_no, (x0, y0, x1, y1) = rects[f.pdf_field]
        writer.add_annotation(page_no, FreeText(text=text, rect=(x0, y0, x1, y1), font_size="10pt"))
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def browser_print(data: bytes, *, footer: bool = True) -> bytes:
    """Stamp what a browser's print adds on every page: date and title at the top, the file's
    address and "n/N" at the bottom."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    total = len(writer.pages)
    for n, page in enumerate(writer.pages, 1):
        stamp = io.BytesIO()
        c = canvas.Canvas(stamp, pagesize=(float(page.mediabox.width), float(page.mediabox.height)))
        c.setFont("Helvetica", 8)
        c.drawString(20, float(page.mediabox.height) - 12, "26.07.2025 10.32      ansoegningsskema-v1.0.pdf")
        if footer:
            c.drawString(20, 12, f"file:///C:/Users/mette/Downloads/ansoegningsskema-v1.0.pdf      {n}/{total}")
        c.showPage()
        c.save()
        page.merge_page(PdfReader(io.BytesIO(stamp.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def cairo_print(data: bytes) -> bytes:
    """A real print to PDF: poppler's ``pdftocairo -pdf`` renders every page, fields
    included, into plain page content (Debian ``poppler-utils``)."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        src.write_bytes(data)
        subprocess.run(["pdftocairo", "-pdf", str(src), str(dst)], check=True, capture_output=True)
        return dst.read_bytes()


def scan_pdf(pages: int = 1) -> bytes:
    """A "scanned" PDF: drawn shapes only, not a single character."""
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595.28, 841.89))
    for _ in range(pages):
        c.setFillColor(Color(0.97, 0.96, 0.93))
        c.rect(0, 0, 595.28, 841.89, fill=1, stroke=0)
        c.setFillColor(Color(0.2, 0.2, 0.2))
        for n in range(30):
            c.rect(50, 780 - 22 * n, 200 + (n * 37) % 250, 6, fill=1, stroke=0)
        c.showPage()
    c.save()
    return buf.getvalue()


def unmapped_text_pdf(lines: int = 8) -> bytes:
    """Glyphs without letters: a CID font with no character map (ToUnicode), as some print
    drivers write. Text extraction gives only "(cid:NN)"."""
    ops = [f"BT /F1 12 Tf 72 {760 - 20 * i} Td <0024004F004F0048> Tj ET" for i in range(lines)]
    content = "\n".join(ops).encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Unknown /Encoding /Identity-H /DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Unknown /CIDSystemInfo"
        b" << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 >>",
    ]
    return assemble_pdf(objs)


def encrypt_pdf(data: bytes, user_password: str = "hemmelig", owner_password: str | None = "ejer") -> bytes:
    """The PDF encrypted with pypdf; with an empty user password it opens without one."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def many_pages_pdf(pages: int) -> bytes:
    """A long PDF with a line of text per page."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"Bilag side {n + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


# --- Budget -----------------------------------------------------------------

SAMPLE_BUDGET: dict[str, dict[str, Decimal]] = {
    "salary_2026": {"hours": Decimal("1649"), "rate": Decimal("334"), "share": Decimal("1.00"),
                    "amount": Decimal("550766.00")},
    "salary_2027": {"hours": Decimal("1649"), "rate": Decimal("341"), "share": Decimal("0.75"),
                    "amount": Decimal("421731.75")},
    "activity_2026": {"amount": Decimal("20000.00")},
    "activity_2027": {"amount": Decimal("20000.00")},
    "total": {"amount": Decimal("1012497.75")},
}


def _budget_workbook(values: dict | None, fieldmap: FieldMap | None):
    fm, wb = filling.budget_workbook(fieldmap)
    return fm, wb, wb[fm.budget.sheet], SAMPLE_BUDGET if values is None else values


_cell_of = filling.cell_of


_TEXT_WRITING = {"hours": lambda v: danish.number_da(v, 0),
                 "rate": lambda v: f"{danish.number_da(v, 2)} kr.",
                 "share": lambda v: f"{danish.number_da(v * 100, 0)} %",
                 "amount": lambda v: f"{danish.number_da(v, 2)} kr."}


def budget_xlsx(values: dict | None = None, *, cached: bool = False, text_numbers: bool = False,
                moved_rows: int = 0, names: str = "moved", vba: bool = False,
                fieldmap: FieldMap | None = None) -> bytes:
    """The official budget template filled in with ``values`` (default SAMPLE_BUDGET).

    cached: store formula results as Excel and LibreOffice do (openpyxl alone stores none).
    text_numbers: inputs typed as text the Danish way ("334,00 kr.", "100 %", "1.649").
    moved_rows: rows inserted above the table; names = "moved" (updated, as Excel does),
        "stale" (left pointing at the old cells, as a program may leave them) or "drop".
    vba: save as a macro-enabled workbook (.xlsm).
    """
    fm, wb, ws, values = _budget_workbook(values, fieldmap)
    b = fm.budget
    formula_amounts = {}
    for line in (*b.lines, b.total):
        for part, name in line.names.items():
            cell = _cell_of(wb, name)
            if isinstance(cell.value, str) and cell.value.startswith("="):
                formula_amounts[name] = values.get(line.key, {}).get(part)
                continue
            value = values.get(line.key, {}).get(part)
            if value is None:
                cell.value = None
            elif text_numbers:
                cell.value = _TEXT_WRITING[part](value)
            else:
                cell.value = int(value) if value == value.to_integral_value() else float(value)
    if moved_rows:
        first = b.header_row - 1
        ws.insert_rows(first, amount=moved_rows)
        for n in range(moved_rows):
            ws.cell(row=first + n, column=1, value=f"Bemærkning {n + 1}: indsat af ansøger")
        cols = b.columns
        for line in b.lines:  # formulas follow their rows, as in Excel
            row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == line.label)
            if "hours" in line.names:
                ws[f"{cols['amount']}{row}"] = (f"=ROUND({cols['hours']}{row}*{cols['rate']}{row}"
                                                f"*{cols['share']}{row},2)")
        total_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == b.total.label)
        ws[f"{cols['amount']}{total_row}"] = (f"=SUM({cols['amount']}{total_row - len(b.lines)}:"
                                              f"{cols['amount']}{total_row - 1})")
        from openpyxl.workbook.defined_name import DefinedName

        for line in (*b.lines, b.total):
            for name in line.names.values():
                if names == "drop":
                    del wb.defined_names[name]
                elif names == "moved":
                    (sheet, ref), = wb.defined_names[name].destinations
                    col, row = ref.replace("$", "")[0], int(ref.replace("$", "")[1:])
                    wb.defined_names[name] = DefinedName(name, attr_text=f"{sheet}!${col}${row + moved_rows}")
    elif names == "drop":
        for line in (*b.lines, b.total):
            for name in line.names.values():
                del wb.defined_names[name]
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if cached:
        data = _with_cached_values(data, wb, formula_amounts, b)
    if vba:
        data = _as_xlsm(data)
    return data


def _with_cached_values(data: bytes, wb, amounts: dict, b) -> bytes:
    """Write formula results into the sheet XML the way a spreadsheet program saves them."""
    import re
    import zipfile

    ws = wb[b.sheet]
    results = {}
    for r in range(1, ws.max_row + 1):
        label = ws.cell(row=r, column=1).value
        for line in (*b.lines, b.total):
            if label == line.label and line.names.get("amount") in amounts:
                value = amounts[line.names["amount"]]
                if value is not None:
                    results[f"{b.columns['amount']}{r}"] = value
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode("utf-8")
                for ref, value in results.items():
                    # openpyxl writes an empty <v/> without lxml and <v></v> with it
                    text = re.sub(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>\s*)(?:<v\s*/>|<v>\s*</v>)',
                                  rf"\g<1><v>{value}</v>", text)
                body = text.encode("utf-8")
            zout.writestr(item, body)
    return out.getvalue()


def _as_xlsm(data: bytes) -> bytes:
    """Turn an .xlsx into a macro-enabled .xlsm (content type and a VBA part)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                body = body.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            zout.writestr(item, body)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    return out.getvalue()


def _rows(values: dict, fm: FieldMap) -> list[tuple[str, dict]]:
    b = fm.budget
    return [(line.label, values.get(line.key, {})) for line in (*b.lines, b.total)]


def budget_xls(values: dict | None = None, fieldmap: FieldMap | None = None) -> bytes:
    """A legacy .xls budget (xlwt): the same table, values only, labels in column A, no names."""
    import xlwt

    fm = _fm(fieldmap)
    values = SAMPLE_BUDGET if values is None else values
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(fm.budget.sheet)
    ws.write(0, 0, "Budget – Pulje til sociale viceværter")
    hdr = fm.budget.header_row - 1
    parts = ["hours", "rate", "share", "amount"]
    ws.write(hdr, 0, fm.budget.headers["line"])
    for n, part in enumerate(parts, 1):
        ws.write(hdr, n, fm.budget.headers[part])
    for r, (label, vals) in enumerate(_rows(values, fm), hdr + 1):
        ws.write(r, 0, label)
        for n, part in enumerate(parts, 1):
            if vals.get(part) is not None:
                ws.write(r, n, float(vals[part]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def budget_ods(values: dict | None = None, *, named: bool = True, cached: bool = True,
               fieldmap: FieldMap | None = None) -> bytes:
    """An OpenDocument budget (odfpy) with formulas, optional named ranges and cached results."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import NamedExpressions, NamedRange, Table, TableCell, TableRow
    from odf.text import P

    fm = _fm(fieldmap)
    b = fm.budget
    values = SAMPLE_BUDGET if values is None else values
    doc = OpenDocumentSpreadsheet()
    table = Table(name=b.sheet)
    cols = ["line", "hours", "rate", "share", "amount"]

    def text_cell(text: str) -> TableCell:
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=text))
        return cell

    def number_cell(value, part: str, formula: str | None = None) -> TableCell:
        kwargs = {}
        if formula:
            kwargs["formula"] = formula
        if value is None:
            return TableCell(**kwargs)
        vtype = "percentage" if part == "share" else "float"
        cell = TableCell(valuetype=vtype, value=str(value), **kwargs)
        cell.addElement(P(text=danish.number_da(value, 2)))
        return cell

    for _ in range(b.header_row - 1):
        table.addElement(TableRow())
    header = TableRow()
    for key in cols:
        header.addElement(text_cell(b.headers[key]))
    table.addElement(header)
    named_ranges = []
    first = b.header_row + 1
    for r, line in enumerate((*b.lines, b.total), first):
        row = TableRow()
        row.addElement(text_cell(line.label))
        vals = values.get(line.key, {})
        for part in cols[1:]:
            col = b.columns[part]
            formula = None
            if part == "amount" and "hours" in line.names:
                formula = f"of:=ROUND([.B{r}]*[.C{r}]*[.D{r}];2)"
            elif part == "amount" and line is b.total:
                formula = f"of:=SUM([.E{first}:.E{r - 1}])"
            value = vals.get(part)
            if formula and not cached:
                value = None
            if part in line.names:
                row.addElement(number_cell(value, part, formula))
                named_ranges.append(NamedRange(name=line.names[part], cellrangeaddress=f"${b.sheet}.${col}${r}",
                                               basecelladdress=f"${b.sheet}.$A$1"))
            else:
                row.addElement(TableCell())
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    if named:
        expressions = NamedExpressions()
        for nr in named_ranges:
            expressions.addElement(nr)
        doc.spreadsheet.addElement(expressions)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def encrypt_office(data: bytes, password: str = "hemmelig") -> bytes:
    """An OOXML file encrypted with a password (OLE2 with EncryptedPackage), via msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()
