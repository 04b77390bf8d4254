"""Values from applicants into spreadsheets and CSV files: always text, never a formula.

An organisation's name is typed by the applicant. Written as it is, ``=HYPERLINK(…)``
or ``+45…`` would become a formula in the committee's or the finance department's
spreadsheet (CSV injection). Every such value goes through :func:`as_text`: a
leading ``=``, ``+``, ``-`` or ``@`` gets an apostrophe before it (the OWASP
advice), so it stays text even when the sheet is saved again as CSV; leading
tabs and line breaks, and characters XML cannot hold, go. In an XLSX file it is
written as a string cell as well (:func:`put_text`).
"""

from __future__ import annotations

import re

from openpyxl.cell.cell import Cell

# What a spreadsheet program starts a formula with.
FORMULA_START = ("=", "+", "-", "@")
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # openpyxl refuses these


def as_text(value: object) -> str:
    """``value`` as a sheet shows it, never a formula (empty for None)."""
    text = _NOT_IN_XML.sub("", "" if value is None else str(value)).lstrip("\t\r\n")
    return "'" + text if text.startswith(FORMULA_START) else text


def put_text(cell: Cell, value: object) -> None:
    """Write ``value`` (through :func:`as_text`) as a text cell."""
    cell.value = as_text(value)
    cell.data_type = "s"  # never "f", whatever the text starts with
    cell.number_format = "@"


def csv_text(value: object) -> str:
    """``value`` for a CSV file, which has no cell types: :func:`as_text`."""
    return as_text(value)
