"""Load a spreadsheet (XLSX, XLSM, XLS, ODS) into one small common model.

Pure: bytes in, a :class:`Book` out. The budget reader (``parsers.budget``) reads
its lines from this model, so it never knows which library read the file.
Sizes are checked before a file is built in memory: a zip container's declared
sizes and packing (:mod:`parsers.zipcheck`, :class:`~parsers.limits.TooLarge`),
then its cells counted by streaming the XML: a loader raises
:class:`TooManyCells` past ``max_cells`` cells, :class:`Unsupported` for a
format it recognises but cannot read, and whatever its library raises on a
broken file.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parsers import filetype, zipcheck
from parsers.limits import DEFAULT, SizeLimits, TooLarge


@dataclass
class Cell:
    """One filled cell: its value (the cached value for a formula) and its formula, if any."""

    value: Any  # None, int, float, str, bool, datetime
    formula: str | None = None


@dataclass
class Sheet:
    """A sheet by name, with its filled cells by (row, col), both 1-based."""

    name: str
    cells: dict[tuple[int, int], Cell]


@dataclass
class Book:
    """The sheets of a workbook and its single-cell defined names."""

    sheets: list[Sheet]
    names: dict[str, tuple[str, int, int]]  # defined name (lower case) -> (sheet, row, col)


class TooManyCells(Exception):
    """The workbook holds more filled cells than we read."""

    def __init__(self, cells: int):
        super().__init__(cells)
        self.cells = cells


class Unsupported(Exception):
    """A format we recognise but cannot read (e.g. Excel's binary .xlsb)."""


def col_letter(col: int) -> str:
    """The column letters of a 1-based column number (28 -> ``AB``)."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """The 1-based column number of column letters (``AB`` -> 28)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def cell_ref(row: int, col: int) -> str:
    """The A1 reference of a (row, col) position."""
    return f"{col_letter(col)}{row}"


_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def parse_ref(ref: str) -> tuple[int, int] | None:
    """(row, col) of a single-cell A1 reference (``$`` allowed), else None."""
    m = _CELL_REF.match(ref.strip())
    return (int(m[2]), col_index(m[1])) if m else None


def _count_cells(zf: zipfile.ZipFile, parts: dict[str, tuple[str, ...]], max_cells: int) -> None:
    """Raise TooManyCells when the members matching ``parts`` (a name prefix → the tags that are
    cells there) hold more than ``max_cells`` together, counted by streaming the XML."""
    count = 0
    for name in zf.namelist():
        tags = next((t for prefix, t in parts.items() if name.startswith(prefix) and name.endswith(".xml")), None)
        if tags is None:
            continue
        try:
            count += zipcheck.count_tags(zf, name, tags, max_cells - count)
        except TooLarge as exc:
            raise TooManyCells(count + exc.size) from None


def _check_xlsx(data: bytes, max_cells: int, sizes: SizeLimits) -> None:
    """The checks before openpyxl reads anything: sizes, packing, cells and shared strings."""
    with zipcheck.open_checked(data, sizes) as zf:
        zipcheck.check_members(zf.infolist(), sizes)
        if "xl/workbook.bin" in zf.namelist():  # .xlsb looks like .xlsx from outside
            raise Unsupported("xlsb")
        # every <c> is a cell openpyxl builds, filled or not; a sheet need not say its <dimension>
        _count_cells(zf, {"xl/worksheets/": ("c",)}, max_cells)
        # one shared string per text cell (Excel drops unused ones): more means padding
        _count_cells(zf, {"xl/sharedStrings": ("si",)}, max_cells)


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _cached_formula_values(zf: zipfile.ZipFile, member: str) -> dict[tuple[int, int], tuple[str, str | None]] | None:
    """The cached result of every formula cell of one sheet part: (row, col) → (type, ``<v>`` text).

    Streamed, element by element, so a sheet is never held twice. None when a cell has no
    ``r`` reference (the spec allows it; then the caller asks openpyxl for the values instead).
    """
    from xml.etree.ElementTree import iterparse  # the parser openpyxl itself reads the part with

    cached: dict[tuple[int, int], tuple[str, str | None]] = {}
    with zf.open(member) as stream:
        for _, el in iterparse(stream):
            if el.tag != f"{_MAIN_NS}c":
                continue
            if el.find(f"{_MAIN_NS}f") is not None:
                pos = parse_ref(el.get("r") or "")
                if pos is None:
                    return None
                cached[pos] = (el.get("t", "n"), el.findtext(f"{_MAIN_NS}v") or None)
            el.clear()
    return cached


def _cached_value(kind: str, text: str | None, number_format: str, epoch: Any, strings: Callable[[], list[Any]]) -> Any:
    """A formula cell's cached value as openpyxl's ``data_only=True`` would give it."""
    from openpyxl.styles.numbers import is_date_format, is_timedelta_format
    from openpyxl.utils.datetime import from_excel

    if text is None:
        return None
    if kind == "n":
        number: int | float = float(text) if any(ch in text for ch in ".Ee") else int(text)
        if is_date_format(number_format):
            try:
                return from_excel(number, epoch, timedelta=is_timedelta_format(number_format))
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "s":
        return strings()[int(text)]
    if kind == "b":
        return bool(int(text))
    return text  # "str", "e" (an error such as #DIV/0!), anything else: as written


def _xlsx_book(data: bytes) -> tuple[Any, dict[str, dict[tuple[int, int], Any]]]:
    """openpyxl's workbook with formulas, loaded once, and each sheet's cached formula results.

    ``load_workbook`` keeps either the formulas or their cached results; loading the file
    twice (both) was most of a budget's reading time. The results are streamed from the
    sheet parts instead.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.reader.strings import read_string_table

    reader = ExcelReader(io.BytesIO(data), read_only=False, keep_vba=False, data_only=False, keep_links=False)
    reader.read()
    book = reader.wb
    parts = {sheet.name: rel.target for sheet, rel in reader.parser.find_sheets()}
    results: dict[str, dict[tuple[int, int], Any]] = {}
    shared: list[list[Any]] = []

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        def strings() -> list[Any]:  # only a formula that returns a shared string needs them
            if not shared:
                if "xl/sharedStrings.xml" not in zf.namelist():
                    raise _NeedsValues("shared strings elsewhere")
                with zf.open("xl/sharedStrings.xml") as fh:
                    shared.append(list(read_string_table(fh)))
            return shared[0]

        for ws in book.worksheets:
            part = parts.get(ws.title)
            cached = _cached_formula_values(zf, part.lstrip("/")) if part else None
            if cached is None:
                raise _NeedsValues(ws.title)
            formats = {pos: cell.number_format for pos, cell in ws._cells.items() if pos in cached}
            results[ws.title] = {pos: _cached_value(kind, text, formats.get(pos, "General"), book.epoch, strings)
                                 for pos, (kind, text) in cached.items()}
    return book, results


class _NeedsValues(Exception):
    """A sheet whose cached results cannot be streamed: openpyxl reads them (a second load)."""


def load_xlsx(data: bytes, max_cells: int, sizes: SizeLimits = DEFAULT) -> Book:
    """An .xlsx/.xlsm workbook: cached values and formulas, defined names of one cell.

    openpyxl loads the file once; the cached results of formulas are streamed from the XML.
    """
    from openpyxl import load_workbook

    _check_xlsx(data, max_cells, sizes)
    try:
        values, results = _xlsx_book(data)
    except _NeedsValues:  # a cell without its reference: both loads, as openpyxl knows the order
        values = load_workbook(io.BytesIO(data), data_only=False)
        plain = load_workbook(io.BytesIO(data), data_only=True)
        results = {ws.title: {pos: c.value for pos, c in ws._cells.items()} for ws in plain.worksheets}
    sheets = []
    for ws in values.worksheets:
        cached = results.get(ws.title, {})
        cells: dict[tuple[int, int], Cell] = {}
        # the cells the file holds, never the rectangle between them (A1 and XFD1048576 are two cells)
        for fcell in list(ws._cells.values()):
            raw = fcell.value
            if raw is None or fcell.row is None or fcell.column is None:
                continue
            formula = None
            if isinstance(raw, str) and raw.startswith("="):
                formula = raw
            elif type(raw).__name__ in ("ArrayFormula", "DataTableFormula"):
                formula = str(getattr(raw, "text", raw))
            pos = (fcell.row, fcell.column)
            # a formula's cached result; a text that merely starts with "=" is its own value
            cells[pos] = Cell(cached[pos] if pos in cached else raw, formula)
        sheets.append(Sheet(ws.title, cells))

    names: dict[str, tuple[str, int, int]] = {}

    def add(name: str, dn: Any) -> None:
        try:
            dests = list(dn.destinations)
        except Exception:  # a name that is not a cell range (a constant, a formula)
            return
        if len(dests) == 1:
            sheet, ref = dests[0]
            pos = parse_ref(ref)
            if pos:
                names[name.lower()] = (sheet, *pos)

    for name, dn in values.defined_names.items():
        add(name, dn)
    for ws in values.worksheets:
        for name, dn in getattr(ws, "defined_names", {}).items():
            add(name, dn)
    return Book(sheets, names)


def load_xls(data: bytes, max_cells: int, sizes: SizeLimits = DEFAULT) -> Book:
    """An Excel 97-2003 .xls workbook (values only: xlrd reads no formulas)."""
    import xlrd

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    try:
        sheets = []
        count = 0
        for index in range(book.nsheets):
            sh = book.sheet_by_index(index)
            cells: dict[tuple[int, int], Cell] = {}
            for r in range(sh.nrows):
                for c in range(sh.ncols):
                    ctype = sh.cell_type(r, c)
                    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        continue
                    count += 1
                    if count > max_cells:
                        raise TooManyCells(count)
                    value: Any = sh.cell_value(r, c)
                    if ctype == xlrd.XL_CELL_ERROR:
                        value = "#ERROR"
                    elif ctype == xlrd.XL_CELL_BOOLEAN:
                        value = bool(value)
                    cells[(r + 1, c + 1)] = Cell(value)
            sheets.append(Sheet(sh.name, cells))
            book.unload_sheet(index)
        names: dict[str, tuple[str, int, int]] = {}
        for nobj in book.name_obj_list:
            try:
                sheet, rlo, rhi, clo, chi = nobj.area2d(clipped=True)
            except Exception:  # not a plain cell range
                continue
            if rhi - rlo == 1 and chi - clo == 1:
                names[nobj.name.lower()] = (sheet.name, rlo + 1, clo + 1)
        return Book(sheets, names)
    finally:
        book.release_resources()


_ODS_CAP = 10_000  # repeated columns/rows beyond this are padding, not content


def _attr(el: Any, ns: str, name: str) -> Any:
    return el.attributes.get((ns, name))


def _ods_value(cell: Any) -> Any:
    """The value of an ODF table cell by its value type (numbers as float, dates as text)."""
    from odf import teletype
    from odf.namespaces import OFFICENS

    vtype = _attr(cell, OFFICENS, "value-type")
    if vtype in ("float", "percentage", "currency"):
        raw = _attr(cell, OFFICENS, "value")
        return float(raw) if raw is not None else None
    if vtype == "boolean":
        return _attr(cell, OFFICENS, "boolean-value") == "true"
    if vtype in ("date", "time"):
        return _attr(cell, OFFICENS, "date-value") or _attr(cell, OFFICENS, "time-value")
    return teletype.extractText(cell) or None


def load_ods(data: bytes, max_cells: int, sizes: SizeLimits = DEFAULT) -> Book:
    """An OpenDocument .ods workbook: values, formulas and single-cell named ranges."""
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import NamedRange, Table, TableRow

    # odfpy builds the whole document in memory: sizes and cells are checked first
    with zipcheck.open_checked(data, sizes) as zf:
        zipcheck.check_members(zf.infolist(), sizes)
        _count_cells(zf, {"content": ("table-cell", "covered-table-cell")}, max_cells)
    doc = load(io.BytesIO(data))

    sheets: list[Sheet] = []
    count = 0
    for table in doc.spreadsheet.getElementsByType(Table):
        cells: dict[tuple[int, int], Cell] = {}
        r = 0
        for row in table.getElementsByType(TableRow):
            rrep = min(int(_attr(row, TABLENS, "number-rows-repeated") or 1), _ODS_CAP)
            c = 0
            row_cells = []
            for cell in row.childNodes:
                if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                    continue
                crep = min(int(_attr(cell, TABLENS, "number-columns-repeated") or 1), _ODS_CAP)
                formula = _attr(cell, TABLENS, "formula")
                value = _ods_value(cell)
                if value is not None or formula:
                    row_cells.append((c, crep, Cell(value, formula)))
                c += crep
            for offset in range(rrep if row_cells else 0):
                for col, crep, cell_obj in row_cells:
                    for k in range(crep):
                        count += 1
                        if count > max_cells:
                            raise TooManyCells(count)
                        cells[(r + offset + 1, col + k + 1)] = cell_obj
            r += rrep
        sheets.append(Sheet(str(_attr(table, TABLENS, "name") or f"Sheet{len(sheets) + 1}"), cells))

    names: dict[str, tuple[str, int, int]] = {}
    for nr in doc.getElementsByType(NamedRange):
        address = str(_attr(nr, TABLENS, "cell-range-address") or "")
        m = re.fullmatch(r"\$?'?([^.']+)'?\.\$?([A-Za-z]{1,3})\$?([0-9]+)", address)
        if m:
            names[str(_attr(nr, TABLENS, "name")).lower()] = (m[1], int(m[3]), col_index(m[2]))
    return Book(sheets, names)


LOADERS: dict[str, Callable[[bytes, int, SizeLimits], Book]] = {
    filetype.XLSX: load_xlsx, filetype.XLSM: load_xlsx, filetype.XLS: load_xls, filetype.ODS: load_ods,
}
"""The loader for each spreadsheet type that ``parsers.filetype.detect`` names."""
