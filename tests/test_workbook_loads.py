"""A budget workbook is built by openpyxl once per attachment (issue #15: 600 loads for 200 budgets).

openpyxl keeps either a workbook's formulas or their cached results; the reader
needs both and used to load every budget twice. The loads are counted where
openpyxl reads a file (``ExcelReader.read``, which ``load_workbook`` calls),
the real reader still running; the values read must stay what they were.
"""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader
from sqlalchemy import select

from intake.cases import reading
from intake.documents.samples import demo_mail, write_maildir
from intake.service import poll_once
from parsers.workbooks import load_xlsx
from store.models import Case


def _count_loads(monkeypatch) -> list[int]:
    loads = [0]
    read = ExcelReader.read

    def counted(self):
        loads[0] += 1
        return read(self)

    monkeypatch.setattr(ExcelReader, "read", counted)
    return loads


def test_each_budget_is_loaded_once_while_the_demo_round_is_processed(app, workdir, monkeypatch):
    write_maildir(workdir / "mail", demo_mail())  # the samples are built before counting
    # read in this process, where the count is kept (the worker reads in a child process)
    monkeypatch.setattr(reading, "open_reader", reading.InlineReader)
    loads = _count_loads(monkeypatch)
    poll_once(app)
    # two of the round's applications (Nord, Vest) send a budget; Syd sends none
    assert loads[0] == 2
    with app.context.factory() as s:
        totals = {c.case_id: c.submissions[-1].budget.get("total") for c in s.scalars(select(Case))}
    assert totals == {"PSV-2025-0001": "1012497.75", "PSV-2025-0002": None, "PSV-2025-0003": "1012497.75"}


def _with_cached_results(data: bytes, results: dict[str, tuple[str, str]]) -> bytes:
    """The workbook as Excel saves it: each formula cell followed by its cached result."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for ref, (kind, value) in results.items():
                    start = text.index(f'<c r="{ref}"')
                    end = text.index("</c>", start)
                    cell = text[start:end].replace("<v />", "")
                    cell = cell.replace(f'<c r="{ref}"', f'<c r="{ref}"' + (f' t="{kind}"' if kind else ""), 1)
                    text = text[:start] + cell + f"<v>{value}</v>" + text[end:]
                body = text.encode()
            zout.writestr(item, body)
    return out.getvalue()


def test_formula_results_of_every_type_are_read_as_cached(monkeypatch):
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["A2"], ws["A3"] = 1649, "=ikke en formel", 334
    ws["A2"].data_type = "s"  # a text that starts with "=", as a pasted value is stored
    ws["B1"], ws["B2"], ws["B3"], ws["B4"], ws["B5"] = "=A1*A3", '=A2&"!"', "=TODAY()", "=TRUE()", "=1/0"
    ws["B3"].number_format = "yyyy-mm-dd"
    ws["B6"] = "=A1*A3"  # no cached result: a file from a tool that computes nothing
    buf = io.BytesIO()
    wb.save(buf)
    data = _with_cached_results(buf.getvalue(), {"B1": ("", "550766"), "B2": ("str", "=ikke en formel!"),
                                                 "B3": ("", "45658"), "B4": ("b", "1"), "B5": ("e", "#DIV/0!")})
    loads = _count_loads(monkeypatch)
    cells = {(r, c): (cell.value, cell.formula) for (r, c), cell in load_xlsx(data, 1000).sheets[0].cells.items()}
    assert loads[0] == 1
    assert cells[(2, 1)] == ("=ikke en formel", "=ikke en formel")  # a text, kept as the file has it
    assert cells[(1, 2)] == (550766, "=A1*A3")
    assert cells[(2, 2)] == ("=ikke en formel!", '=A2&"!"')
    assert cells[(3, 2)][0].isoformat() == "2025-01-01T00:00:00"
    assert cells[(4, 2)] == (True, "=TRUE()")
    assert cells[(5, 2)] == ("#DIV/0!", "=1/0")
    assert cells[(6, 2)] == (None, "=A1*A3")
