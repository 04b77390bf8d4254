"""The committee spreadsheet and the JSON export, checked cell by cell and field by field."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import casefactory as cf
from openpyxl import load_workbook
from sqlalchemy import select

from intake.commands.cli import main
from intake.committee import export
from store.models import Case

MONEY_RE = re.compile(r"^\d+\.\d\d$")
EXPECTED_HEADERS = [
    "Sags-id", "Organisation", "CVR", "Kommune", "Årsværk", "Ansøgt beløb", "Budget i alt",
    "Anvisninger", "Udsættelser", "Husleje pr. m²", "Lokalt samarbejde",
    "Organisering og forankring", "Målgruppe og effekt", "Problemer", "Status",
    "beslutning", "bevilget beløb", "begrundelse",
]


def _seed(app):
    """Two applications (one with problems, 1.5 fte), one report."""
    with app.context.factory() as s, s.begin():
        cf.make_case(s, "PSV-2025-0001")
        cf.make_case(
            s, "PSV-2025-0002", status="mangler",
            fields=cf.application_fields(org="Boligforeningen Syd", cvr="87654321", municipality="Høje-Taastrup",
                                         fte="1.5", amount="1518746.63", collaboration=None),
            budget_=cf.budget("1.5"),
            problems=[cf.problem("cvr_check_digit", "cvr", "CVR-nummeret passer ikke; tjek det."),
                      cf.problem("missing_field", "collaboration", "Feltet Lokalt samarbejde er tomt.", "warning")],
            received=dt.datetime(2025, 7, 30, 21, 30, tzinfo=dt.UTC), set_case_columns=False,
        )
        cf.make_case(s, "PSV-2025-0003", kind="report", status="modtaget", fields={}, budget_={},
                     attachments=[("Regnskab.pdf", "pdf", "report")])


def _header_index(ws):
    return {c.value: c.column for c in ws[1]}


def test_spreadsheet_has_one_row_per_application_matching_the_database(app, workdir):
    _seed(app)
    out = workdir / "udvalg.xlsx"
    assert main(["--config", str(workdir / "settings.toml"), "export", "--format", "xlsx",
                 "--out", str(out)]) == 0
    wb = load_workbook(out)
    ws = wb["Ansøgninger"]
    assert [c.value for c in ws[1]] == EXPECTED_HEADERS
    assert ws.freeze_panes == "B2"  # header row (and case id) stay put
    assert ws.auto_filter.ref == f"A1:R{ws.max_row}"
    col = _header_index(ws)
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == ["PSV-2025-0001", "PSV-2025-0002"]
    with app.context.factory() as s:
        cases = {c.case_id: c for c in s.scalars(select(Case))}
        for r in range(2, ws.max_row + 1):
            case = cases[ws.cell(r, 1).value]
            sub = case.submissions[-1]
            f = {k: v["value"] for k, v in sub.fields.items()}

            def cell(header, r=r):
                return ws.cell(r, col[header])

            assert cell("Sags-id").hyperlink is None
            assert cell("Organisation").value == f["org_name"]
            assert cell("CVR").value == f["cvr"] and cell("CVR").data_type == "s"
            assert cell("Kommune").value == f["municipality"]
            for header, key, fmt in [("Årsværk", "fte", "0.0#"), ("Ansøgt beløb", "amount_requested", "#,##0.00"),
                                     ("Husleje pr. m²", "rent_level", "#,##0.00")]:
                assert cell(header).data_type == "n", header
                assert Decimal(str(cell(header).value)) == Decimal(f[key]), header
                assert cell(header).number_format == fmt
            assert cell("Budget i alt").data_type == "n"
            assert Decimal(str(cell("Budget i alt").value)) == Decimal(sub.budget["total"])
            assert cell("Budget i alt").number_format == "#,##0.00"
            for header, key in [("Anvisninger", "referrals"), ("Udsættelser", "evictions")]:
                assert cell(header).value == f[key] and isinstance(cell(header).value, int)
                assert cell(header).number_format == "#,##0"
            for header, key in [("Lokalt samarbejde", "collaboration"), ("Organisering og forankring", "organisation"),
                                ("Målgruppe og effekt", "target_group")]:
                assert cell(header).value == f.get(key)
                assert cell(header).alignment.wrap_text
            assert (cell("Problemer").value or "") == "\n".join(p["message"] for p in sub.problems)
            assert cell("Status").value == case.status
            assert cell("beslutning").value is None and cell("bevilget beløb").value is None
            assert cell("begrundelse").value is None
    def width(header):
        return ws.column_dimensions[ws.cell(1, col[header]).column_letter].width

    for header in ("Organisation", "Lokalt samarbejde", "Problemer"):
        assert width(header) >= 25  # long texts wrap in a wide column
    assert width("Sags-id") >= len("PSV-2025-0001")
    assert width("Ansøgt beløb") >= len("1.518.746,63") and width("Kommune") >= len("Høje-Taastrup")


def test_spreadsheet_with_no_applications_still_has_its_header(app, workdir):
    out = workdir / "tom.xlsx"
    with app.context.factory() as s:
        assert export.write_xlsx(s, str(out)) == 0
    ws = load_workbook(out).active
    assert [c.value for c in ws[1]] == EXPECTED_HEADERS and ws.max_row == 1


def test_json_export_follows_the_contract_field_by_field(app, workdir):
    _seed(app)
    out = workdir / "sager.json"
    assert main(["--config", str(workdir / "settings.toml"), "export", "--format", "json",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [d["case_id"] for d in data] == ["PSV-2025-0001", "PSV-2025-0002", "PSV-2025-0003"]
    keys = {"case_id", "kind", "status", "received_at", "sender", "subject", "organisation",
            "municipality", "fields", "budget", "problems", "attachments", "message_ids"}
    with app.context.factory() as s:
        for d in data:
            case = s.scalar(select(Case).where(Case.case_id == d["case_id"]))
            sub = case.submissions[-1]
            assert set(d) == keys
            assert d["kind"] == case.kind and d["status"] == case.status
            received = dt.datetime.fromisoformat(d["received_at"])
            assert received.utcoffset() is not None and received == case.received_at
            assert re.search(r"[+-]\d\d:\d\d$", d["received_at"])
            assert d["sender"] == case.sender and d["subject"] == case.subject
            org_f = sub.fields.get("org_name", {}).get("value")
            cvr_f = sub.fields.get("cvr", {}).get("value")
            assert d["organisation"] == {"name": org_f, "cvr": cvr_f}
            assert d["municipality"] == sub.fields.get("municipality", {}).get("value")
            assert d["fields"] == {k: v["value"] for k, v in sub.fields.items()}
            if "amount_requested" in d["fields"]:
                assert MONEY_RE.match(d["fields"]["amount_requested"])
            if sub.budget:
                assert d["budget"]["total"] == sub.budget["total"] and MONEY_RE.match(d["budget"]["total"])
                assert len(d["budget"]["lines"]) == len(sub.budget["lines"])
                for got, want in zip(d["budget"]["lines"], sub.budget["lines"], strict=True):
                    assert set(got) == {"line", "hours", "rate", "share", "amount"}
                    assert got["line"] == want["line"]
                    assert MONEY_RE.match(got["amount"]) and Decimal(got["amount"]) == Decimal(want["amount"])
                    for k in ("hours", "rate", "share"):
                        assert (got[k] is None) == (want[k] is None)
                        if got[k] is not None:
                            assert isinstance(got[k], str) and Decimal(got[k]) == Decimal(want[k])
            else:
                assert d["budget"] == {"lines": [], "total": None}
            assert d["problems"] == [{"code": p["code"], "field": p["field"], "message": p["message"]}
                                     for p in sub.problems]
            assert d["attachments"] == [{"filename": a.filename, "sha256": a.sha256, "kind": a.detected_type}
                                        for a in sub.attachments]
            assert d["message_ids"] == [m.message_id for m in case.messages]
            assert all(m.startswith("<") for m in d["message_ids"])
    # no float anywhere: every number is an int (counts) or a string
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            assert not isinstance(x, float), x
    walk(data)
    assert '"received_at": "2025-07-30T23:30:00+02:00"' in out.read_text(encoding="utf-8")


def test_json_to_stdout(app, workdir, capsys):
    _seed(app)
    assert main(["--config", str(workdir / "settings.toml"), "export", "--format", "json", "--out", "-"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
