"""The payout list for finance: only approved quarters, each once, cells as finance needs them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from grant_helpers import NORD, UTC, decide, decided_round
from openpyxl import load_workbook

from intake.commands import cli
from intake.committee.cells import csv_text
from store import repository as repo
from store.db import transaction

pytest_plugins = ["smtp_sink"]

HOSTILE = '=HYPERLINK("http://evil.example/x","Boligselskabet Syd")'
HEADERS = ["Sags-id", "Organisation", "CVR", "Kvartal", "Beløb (kr.)", "Dokumentation godkendt"]


@pytest.fixture
def two_grants(make_app, workdir, clock, smtp_sink, monkeypatch, capsys):
    """Nord granted in full; Syd (a hostile name, CVR 28123451 set by staff) granted 800.000 kr."""
    app = decided_round(make_app, workdir, clock, smtp_sink)
    with transaction(app.context.factory) as s:
        syd = repo.get_case(s, "PSV-2025-0002")
        syd.org_name, syd.cvr = HOSTILE, "28123451"
        sub = syd.submissions[-1]
        sub.budget = {"lines": [{"key": "salary_2026", "amount": "550766.00"},
                                {"key": "salary_2027", "amount": "421731.75"},
                                {"key": "activity_2026", "amount": "20000.00"},
                                {"key": "activity_2027", "amount": "20000.00"}], "total": "1012497.75"}
    decide(app, "PSV-2025-0002", "bevilget", Decimal("800000"))
    monkeypatch.setattr(cli, "_app", lambda a: app)
    capsys.readouterr()
    return app


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _approve(clock, capsys, case_id: str, quarter: str, day: dt.datetime) -> None:
    clock.now = day
    assert _run(capsys, "documentation", "approve", case_id, quarter, "--by", "mette")[0] == 0


def test_the_xlsx_list_has_each_approved_quarter_once_with_text_never_a_formula(
        two_grants, workdir, clock, capsys):
    _approve(clock, capsys, NORD, "2026Q1", dt.datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    _approve(clock, capsys, "PSV-2025-0002", "2026Q1", dt.datetime(2026, 4, 21, 22, 30, tzinfo=UTC))
    _approve(clock, capsys, NORD, "2026Q2", dt.datetime(2026, 7, 10, 9, 0, tzinfo=UTC))  # another quarter
    out = workdir / "udbetaling-q1.xlsx"
    code, text, _ = _run(capsys, "payouts", "--quarter", "2026Q1", "--out", str(out))
    assert code == 0 and "2026Q1: udbetalingsliste nr. 1" in text and "2 udbetaling(er)" in text
    # 142.691,50 + 800.000 / 1.012.497,75 × 142.691,50 = 142.691,50 + 112.744,15
    assert "i alt 255.435,65 kr." in text
    ws = load_workbook(out)["Udbetalinger"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows == [
        HEADERS,
        [NORD, "Boligselskabet Nord", "34567891", "2026Q1", 142691.5,
         dt.datetime(2026, 4, 20)],
        ["PSV-2025-0002", "'" + HOSTILE, "28123451", "2026Q1", 112744.15,
         dt.datetime(2026, 4, 22)],  # 00.30 in Copenhagen; the name is text, never a formula
    ]
    for row in ws.iter_rows(min_row=2):
        assert [c.data_type for c in row[:4]] == ["s", "s", "s", "s"]  # never "f": a formula
        assert row[4].number_format == "#,##0.00"

    # run again: those quarters are paid, nothing is listed twice
    again = workdir / "igen.xlsx"
    code, text, _ = _run(capsys, "payouts", "--quarter", "2026Q1", "--out", str(again))
    assert code == 0 and "ingen nye udbetalinger" in text
    assert [[c.value for c in row] for row in load_workbook(again).active.iter_rows()] == [HEADERS]
    # and a paid quarter is not rejected any more
    code, _, err = _run(capsys, "documentation", "reject", NORD, "2026Q1", "--reason", "fejl")
    assert code == 1 and "står allerede på en udbetalingsliste" in err

    # the second quarter goes on its own list; a lost file can be written again
    code, text, _ = _run(capsys, "payouts", "--quarter", "2026Q2", "--out", str(workdir / "q2.xlsx"))
    assert "udbetalingsliste nr. 2" in text and "i alt 142.691,50 kr." in text
    code, text, _ = _run(capsys, "payouts", "--list", "1", "--out", str(workdir / "kopi.xlsx"))
    assert code == 0 and "udbetalingsliste nr. 1 (2026Q1) skrevet igen" in text
    assert [[c.value for c in r] for r in load_workbook(workdir / "kopi.xlsx").active.iter_rows()] == rows


def test_the_csv_list_opens_in_danish_excel_and_neutralises_formulas(two_grants, workdir, clock, capsys):
    _approve(clock, capsys, "PSV-2025-0002", "2026Q1", dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC))
    out = workdir / "udbetaling.csv"
    assert _run(capsys, "payouts", "--quarter", "2026q1", "--out", str(out))[0] == 0
    data = out.read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [HEADERS, ["PSV-2025-0002", "'" + HOSTILE, "28123451", "2026Q1", "112744,15", "2026-04-21"]]


def test_nothing_unapproved_goes_on_a_list(two_grants, workdir, clock, capsys):
    clock.now = dt.datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    assert _run(capsys, "documentation", "reject", NORD, "2026Q1", "--reason", "mangler lønsedler")[0] == 0
    code, text, _ = _run(capsys, "payouts", "--quarter", "2026Q1", "--out", str(workdir / "x.xlsx"))
    assert code == 0 and "ingen nye udbetalinger" in text
    code, _, err = _run(capsys, "payouts", "--quarter", "2026Q1", "--out", str(workdir / "x.pdf"))
    assert code == 1 and "write the payout list as .xlsx or .csv" in err


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+4512345678", "'+4512345678"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "x"), ("\t=1", "'=1"), ("Boligselskabet Nord", "Boligselskabet Nord"), (None, ""),
])
def test_a_csv_value_a_spreadsheet_would_run_gets_an_apostrophe(value, written):
    assert csv_text(value) == written
