"""Values from applicants into spreadsheets and CSV files: always text, never a formula.

An organisation's name is typed by the applicant. Written as it is, ``=HYPERLINK(…)``
or ``+45…`` would become a formula in the finance department's Excel (CSV
injection). In an XLSX file such a value is written as a string cell, so it shows
exactly as typed; in a CSV file, which has no cell types, a value that a
spreadsheet would take for a formula gets a leading apostrophe (the OWASP advice).
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell

# What a spreadsheet program starts a formula with, or strips before one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def put_text(cell: Cell, value: object) -> None:
    """Write ``value`` as a text cell, whatever it starts with (empty for None)."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"  # openpyxl took a leading "=" for a formula: make it text again
    cell.number_format = "@"


def csv_text(value: object) -> str:
    """``value`` for a CSV file: a leading apostrophe when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
