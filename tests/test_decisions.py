"""Committee decisions back in: checked row by row, applied all together or not at all."""

from __future__ import annotations

import datetime as dt
import io

import casefactory as cf
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from intake.commands.cli import main
from intake.committee import export
from parsers.danish import parse_amount
from store.models import Case, CaseEvent


def _seed(app):
    with app.context.factory() as s, s.begin():
        cf.make_case(s, "PSV-2025-0001")  # asks 1012497.75
        cf.make_case(s, "PSV-2025-0002", fields=cf.application_fields(org="Syd", amount="500000.00"))
        cf.make_case(s, "PSV-2025-0003", fields=cf.application_fields(org="Vest"))
        cf.make_case(s, "PSV-2025-0004", kind="report", status="modtaget", fields={}, budget_={})


def _exported(app, workdir):
    out = workdir / "udvalg.xlsx"
    with app.context.factory() as s:
        export.write_xlsx(s, str(out))
    return out


def _fill(path, decisions: dict[str, tuple[object, object]], out=None):
    """Fill the decision columns (found by header) for the given case ids."""
    wb = load_workbook(path)
    ws = wb.active
    col = {c.value: c.column for c in ws[1]}
    for r in range(2, ws.max_row + 1):
        cid = ws.cell(r, col["Sags-id"]).value
        if cid in decisions:
            ws.cell(r, col["beslutning"]).value, ws.cell(r, col["bevilget beløb"]).value = decisions[cid]
    wb.save(out or path)
    return out or path


def _state(app):
    with app.context.factory() as s:
        return {c.case_id: (c.status, c.decision, c.granted_amount)
                for c in s.scalars(select(Case).order_by(Case.id))}


def _run(workdir, path):
    return main(["--config", str(workdir / "settings.toml"), "decisions", "import", str(path)])


def test_round_trip_export_fill_import_sets_statuses(app, workdir, capsys):
    _seed(app)
    sheet = _fill(_exported(app, workdir), {
        "PSV-2025-0001": (" Bevilget ", 800000),              # number typed in Excel
        "PSV-2025-0002": ("AFSLAG", None),
        "PSV-2025-0003": ("bevilget", "1.012.497,75 kr."),     # Danish text, the full amount
    })
    assert _run(workdir, sheet) == 0
    assert "3 sag(er) opdateret" in capsys.readouterr().out
    state = _state(app)
    assert state["PSV-2025-0001"] == ("bevilget", "bevilget", "800000.00")
    assert state["PSV-2025-0002"] == ("afslag", "afslag", None)
    assert state["PSV-2025-0003"] == ("bevilget", "bevilget", "1012497.75")
    assert state["PSV-2025-0004"] == ("modtaget", None, None)
    with app.context.factory() as s:
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.kind == "decision")))
        assert len(events) == 3
    # importing the same sheet again changes nothing and adds no events
    assert _run(workdir, sheet) == 0
    assert "0 sag(er) opdateret" in capsys.readouterr().out
    with app.context.factory() as s:
        assert len(list(s.scalars(select(CaseEvent).where(CaseEvent.kind == "decision")))) == 3
    # and the next export shows the decisions in the decision columns
    ws = load_workbook(_exported(app, workdir)).active
    col = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, 1).value: (ws.cell(r, col["beslutning"]).value, ws.cell(r, col["bevilget beløb"]).value)
            for r in range(2, ws.max_row + 1)}
    assert rows["PSV-2025-0001"] == ("bevilget", 800000)
    assert rows["PSV-2025-0002"] == ("afslag", None)


def test_one_bad_row_changes_nothing_and_names_row_and_column(app, workdir, capsys):
    _seed(app)
    before = _state(app)
    sheet = _fill(_exported(app, workdir), {
        "PSV-2025-0001": ("bevilget", 500000),
        "PSV-2025-0002": ("bevilget", "600.000,00"),  # more than the 500.000,00 asked for
    })
    assert _run(workdir, sheet) == 1
    err = capsys.readouterr().err
    assert 'række 3, kolonne "bevilget beløb": 600.000,00 kr. er mere end det ansøgte 500.000,00 kr.' in err
    assert "Traceback" not in err
    assert "intet er ændret" in err
    assert _state(app) == before


def _sheet(rows, header=("Sags-id", "beslutning", "bevilget beløb")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_error_is_listed_with_its_row_and_column(app, workdir, capsys):
    _seed(app)
    before = _state(app)
    path = workdir / "fejl.xlsx"
    path.write_bytes(_sheet([
        ("PSV-2025-0001", "bevilget", None),            # row 2: amount missing
        ("PSV-2025-0099", "afslag", None),              # row 3: unknown case
        ("PSV-2025-0002", "måske", None),               # row 4: not a decision
        ("PSV-2025-0003", "afslag", 1000),              # row 5: amount on a rejection
        ("PSV-2025-0004", "bevilget", 10),              # row 6: a report
        ("PSV-2025-0002", None, None),                  # row 7: empty: skipped
        ("psv-2025-0003", "bevilget", "12,345"),        # row 8: unreadable amount (and duplicate)
        (None, "afslag", None),                         # row 9: no case id
        ("PSV-2025-0002", None, "100"),                 # row 10: amount without a decision
        ("PSV-2025-0002", "bevilget", -5),              # row 11: negative
    ]))
    assert _run(workdir, path) == 1
    lines = [ln.strip() for ln in capsys.readouterr().err.splitlines()[1:]]
    assert lines == [
        'række 2, kolonne "bevilget beløb": et bevilget beløb skal udfyldes',
        'række 3, kolonne "Sags-id": der findes ingen sag PSV-2025-0099',
        'række 4, kolonne "beslutning": «måske» er ikke en beslutning; skriv "bevilget" eller "afslag"',
        'række 5, kolonne "bevilget beløb": et afslag har intet bevilget beløb; slet beløbet',
        'række 6, kolonne "Sags-id": PSV-2025-0004 er ikke en ansøgning og kan ikke få en beslutning',
        'række 8, kolonne "Sags-id": PSV-2025-0003 står også i række 5',
        'række 8, kolonne "bevilget beløb": «12,345» kan ikke læses som et beløb (skriv fx 500.000,00)',
        'række 9, kolonne "Sags-id": sags-id mangler',
        'række 10, kolonne "bevilget beløb": beløb uden beslutning: skriv "bevilget" i "beslutning" eller slet beløbet',
        'række 11, kolonne "Sags-id": PSV-2025-0002 står også i række 4',
        'række 11, kolonne "bevilget beløb": beløbet skal være større end 0',
    ]
    assert _state(app) == before


def test_columns_are_found_by_name_in_any_order(app, workdir):
    _seed(app)
    path = workdir / "flyttet.xlsx"
    path.write_bytes(_sheet([(None, "450.000", "Note", "  afslag ", "PSV-2025-0002"),
                             ("x", "450.000", "", "bevilget", "PSV-2025-0001")],
                            header=("Andet", " Bevilget  Beløb", "Kommentar", "BESLUTNING", "sags-id")))
    assert _run(workdir, path) == 1  # an amount on a rejection is refused
    path.write_bytes(_sheet([(None, None, "Note", "  afslag ", "PSV-2025-0002"),
                             ("x", "450.000", "", "bevilget", "PSV-2025-0001")],
                            header=("Andet", " Bevilget  Beløb", "Kommentar", "BESLUTNING", "sags-id")))
    assert _run(workdir, path) == 0
    state = _state(app)
    assert state["PSV-2025-0001"] == ("bevilget", "bevilget", "450000.00")
    assert state["PSV-2025-0002"] == ("afslag", "afslag", None)


def test_missing_column_and_unreadable_file(app, workdir, capsys):
    _seed(app)
    path = workdir / "uden.xlsx"
    path.write_bytes(_sheet([("PSV-2025-0001", "bevilget")], header=("Sags-id", "beslutning")))
    assert _run(workdir, path) == 1
    assert 'kolonne "bevilget beløb" findes ikke' in capsys.readouterr().err
    path.write_bytes(b"not a spreadsheet")
    assert _run(workdir, path) == 1
    err = capsys.readouterr().err
    assert "kan ikke læses som et Excel-ark" in err and "Traceback" not in err
    assert _run(workdir, workdir / "findes-ikke.xlsx") == 1


@pytest.mark.parametrize("text,value", [
    ("1.012.497,75", "1012497.75"), ("1012497,75", "1012497.75"), ("1012497.75", "1012497.75"),
    ("500.000", "500000"), ("500 000 kr.", "500000"), ("kr. 500.000,-", "500000"), ("450000", "450000"),
    ("1.5", "1.5"), ("12,345", None), ("1.2345", None), ("abc", None), ("", None), ("1,2,3", None),
])
def test_parse_amount(text, value):
    got = parse_amount(text)
    assert (str(got) if got is not None else None) == value


def test_decision_time_is_the_clock_of_the_app(app, workdir, clock):
    _seed(app)
    clock.now = dt.datetime(2025, 9, 10, 8, 0, tzinfo=dt.UTC)
    from intake.committee.decisions import import_decisions

    with app.context.factory() as s, s.begin():
        result = import_decisions(s, _sheet([("PSV-2025-0001", "afslag", None)]), clock())
        assert result.ok and result.changed == ["PSV-2025-0001"]
    with app.context.factory() as s:
        case = s.scalar(select(Case).where(Case.case_id == "PSV-2025-0001"))
        assert case.updated_at == clock.now and case.events[-1].kind == "decision"


def test_a_formula_without_a_saved_value_is_named_not_taken_as_empty(app, workdir, capsys):
    _seed(app)
    path = workdir / "formel.xlsx"
    path.write_bytes(_sheet([("PSV-2025-0001", "bevilget", "=400000+100000")]))  # openpyxl saves no value
    assert _run(workdir, path) == 1
    assert ('række 2, kolonne "bevilget beløb": formlen =400000+100000 har ingen gemt værdi'
            in capsys.readouterr().err)
