"""Application scenarios made with the tools applicants really use (issue #13).

The form is filled by pdftk with the PDF field names written out below, then
printed, rewritten, flattened or scanned (:mod:`fixturegen.tools`); budgets are
saved by LibreOffice from a workbook written here cell by cell. Every value is
written twice by hand: as the applicant typed it and as intake must give it.
What each tool may cost is written out too: which fields cannot be read with
certainty (``field_unreadable``), never guessed.
"""

from __future__ import annotations

import io
import threading
from functools import cache

from fixturegen import tools
from fixturegen.applications import (
    App,
    Scenario,
    budget_att,
    budget_xlsx,
    form_att,
    mail,
    on,
    one_fte_budget,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# PDF field name -> (as typed, as intake must give it); cvr and contact_email per scenario.
NORMAL: dict[str, tuple[str, object]] = {
    "org_name": ("Boligforeningen Ærtebjerg Øst", "Boligforeningen Ærtebjerg Øst"),
    "address": ("Åboulevarden 7, 8000 Aarhus C", "Åboulevarden 7, 8000 Aarhus C"),
    "contact_name": ("Søren Æbelø Østergård", "Søren Æbelø Østergård"),
    "contact_phone": ("87 65 43 21", "+45 87 65 43 21"),
    "departments": ("Afd. 12 Højvangen og afd. 14 Ærtemarken", "Afd. 12 Højvangen og afd. 14 Ærtemarken"),
    "municipality": ("Tårnby Kommune", "Tårnby"),
    "partners": ("Tårnby Kommune og Boligselskabet Øresund", "Tårnby Kommune og Boligselskabet Øresund"),
    "fte": ("1", "1"),
    "hire_type": ("Nyansaettelse", "nyansaettelse"),
    "start_date": ("1. januar 2026", "2026-01-01"),
    "referrals": ("12", 12),
    "evictions": ("3", 3),
    "rent_level": ("1.045,75", "1045.75"),
    "collaboration": ("Vi mødes hver måned med kommunens bostøtte og hjemløseenhed.\n"
                      "Blå Kors og Kirkens Korshær er også med.",
                      "Vi mødes hver måned med kommunens bostøtte og hjemløseenhed.\n"
                      "Blå Kors og Kirkens Korshær er også med."),
    "organisation": ("Den sociale vicevært ansættes i driftsafdelingen og følger op på hver anvisning.",
                     "Den sociale vicevært ansættes i driftsafdelingen og følger op på hver anvisning."),
    "target_group": ("Beboere med hjemløshedsbaggrund; målet er færre udsættelser og større trivsel.",
                     "Beboere med hjemløshedsbaggrund; målet er færre udsættelser og større trivsel."),
    "amount_requested": ("1.012.497,75", "1012497.75"),
    "signatory": ("Åse Ødegård Kjær", "Åse Ødegård Kjær"),
    "signed_date": ("30-07-2025", "2025-07-30"),
}

_MEETING = "Vi mødes hver måned med kommunens bostøtte, hjemløseenheden og afdelingsbestyrelsen i Ørestad. "
_STAFF = "Den sociale vicevært ansættes i driftsafdelingen, får en fast mentor og følger op på hver anvisning. "
_AIM = "Målet er færre udsættelser, større trivsel og at nye beboere med hjemløshedsbaggrund bliver boende. "
# Text fields typed longer than their boxes: one-line boxes hold about 60 characters,
# the multi-line ones about nine lines.
LONG: dict[str, tuple[str, object]] = {
    **NORMAL,
    "org_name": ("Boligforeningen Ærtebjerg Øst – afdelingerne i Ørestad, Åmarken, Kløvermarken og Sølvgade",) * 2,
    "address": ("Åboulevarden 7, 2. sal, opgang B, lokale 214 bag gården ved Sønder Allé, 8000 Aarhus C",) * 2,
    "contact_name": ("Søren Æbelø Østergård, driftschef, og Åse Ødegård Kjær, boligsocial medarbejder",) * 2,
    "departments": ("Afd. 12 Højvangen, afd. 14 Ærtemarken, afd. 15 Østervænget og afd. 16 Åløkkehaven",) * 2,
    "partners": ("Tårnby Kommune, Socialforvaltningen; Boligselskabet Øresund; Kirkens Korshær; "
                 "Blå Kors Danmark; SAND – De hjemløses landsorganisation",) * 2,
    "collaboration": ((_MEETING * 16).strip(),) * 2,
    "organisation": ((_STAFF * 16).strip(),) * 2,
    "target_group": ((_AIM * 16).strip(),) * 2,
    "signatory": ("Åse Ødegård Kjær, formand for organisationsbestyrelsen i Boligforeningen Ærtebjerg Øst",) * 2,
}
TEXT_FIELDS = ("org_name", "address", "contact_name", "departments", "partners", "collaboration",
               "organisation", "target_group", "signatory")
# Labels of the official form with æ, ø or å: Ghostscript's rewrite loses those letters.
LABELS_WITH_AEOEAA = ("departments", "fte", "start_date", "referrals", "evictions", "rent_level",
                      "target_group", "amount_requested")
# Values with æ, ø or å in NORMAL/LONG: qpdf's own drawing turns those letters into "?".
VALUES_WITH_AEOEAA = ("org_name", "address", "contact_name", "contact_email", "departments",
                      "municipality", "partners", "collaboration", "organisation", "target_group",
                      "signatory")


def cannot_read(tool: str, long: bool) -> tuple[str, ...]:
    """Fields a form made by ``tool`` cannot give with certainty (hire_type aside: a tick)."""
    cut = TEXT_FIELDS if long else ()
    return tuple(sorted(set(cut) | set({"gs": LABELS_WITH_AEOEAA, "qpdf": VALUES_WITH_AEOEAA}.get(tool, ()))))


_LOCK = threading.Lock()


@cache
def _template_v1_once() -> bytes:
    from intake.documents.templates import application_form_pdf
    from parsers.fieldmap import load_fieldmap

    return application_form_pdf(load_fieldmap())


def _template_v1() -> bytes:
    with _LOCK:  # reportlab is not made for two threads at once
        return _template_v1_once()


def _map_text_v1() -> str:
    from importlib import resources

    return resources.files("config").joinpath("fields", "application-v1.toml").read_text(encoding="utf-8")


def _app(n: int, name: str, values: dict[str, tuple[str, object]]) -> App:
    app = App(n, name)
    cvr, email = app.want["cvr"], f"søren@{app.domain}"  # a valid CVR of the scenario's own
    app.typed = {k: t for k, (t, _) in values.items()} | {"cvr": cvr, "contact_email": email}
    app.want = {k: w for k, (_, w) in values.items()} | {"cvr": cvr, "contact_email": email}
    return app


def _form(tool: str, app: App) -> bytes:
    # the official v1 form: PDF field names are the keys
    return tools.form_by(tool, dict(app.typed), _template_v1, _map_text_v1())


def budget_by_hand(*, inserted_rows: int = 0) -> bytes:
    """The budget table written cell by cell with openpyxl (not by the project's writer):
    labels in column A, formulas for amounts, a defined name per value cell."""
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws["A1"] = "Budget – Pulje til sociale viceværter"
    for n in range(inserted_rows):
        ws.cell(row=2 + n, column=1, value=f"Note {n + 1}: tilføjet af os")
    h = 4 + inserted_rows
    for col, text in zip("ABCDE", ("Budgetlinje", "Timer", "Timesats (kr.)", "Andel", "Beløb (kr.)"), strict=True):
        ws[f"{col}{h}"] = text
    rows = [("Løn 2026", 1649, 334, 1, "salary_2026"), ("Løn 2027", 1649, 341, 0.75, "salary_2027")]
    for r, (label, hours, rate, share, key) in enumerate(rows, h + 1):
        ws[f"A{r}"], ws[f"B{r}"], ws[f"C{r}"], ws[f"D{r}"] = label, hours, rate, share
        ws[f"D{r}"].number_format = "0%"
        ws[f"E{r}"] = f"=ROUND(B{r}*C{r}*D{r},2)"
        for part, col in (("hours", "B"), ("rate", "C"), ("share", "D"), ("amount", "E")):
            wb.defined_names[f"{key}_{part}"] = DefinedName(f"{key}_{part}", attr_text=f"Budget!${col}${r}")
    for r, (label, key) in enumerate((("Aktivitetsmidler 2026", "activity_2026"),
                                      ("Aktivitetsmidler 2027", "activity_2027")), h + 3):
        ws[f"A{r}"], ws[f"E{r}"] = label, 20000
        wb.defined_names[f"{key}_amount"] = DefinedName(f"{key}_amount", attr_text=f"Budget!$E${r}")
    ws[f"A{h + 5}"], ws[f"E{h + 5}"] = "I alt ansøgt", f"=SUM(E{h + 1}:E{h + 4})"
    wb.defined_names["total"] = DefinedName("total", attr_text=f"Budget!$E${h + 5}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def lo_budget(target: str, inserted_rows: int = 0) -> bytes:
    """``budget_by_hand`` opened and saved by LibreOffice Calc as ``target``, cached."""
    return tools.cached(f"budget-{target}-{inserted_rows}", {"rows": inserted_rows},
                        lambda: tools.soffice_convert(budget_by_hand(inserted_rows=inserted_rows), ".xlsx", target))


# The budget every scenario here sends, as the applicant typed it: one caretaker.
ONE_FTE = {"lines": [
    {"key": "salary_2026", "hours": "1649", "rate": "334", "share": "1", "amount": "550766.00"},
    {"key": "salary_2027", "hours": "1649", "rate": "341", "share": "0.75", "amount": "421731.75"},
    {"key": "activity_2026", "hours": None, "rate": None, "share": None, "amount": "20000"},
    {"key": "activity_2027", "hours": None, "rate": None, "share": None, "amount": "20000"},
], "total": "1012497.75"}


def _expected(app: App, problems: list[tuple[str, str | None]], skip: tuple[str, ...]) -> dict:
    errors = any(code != "field_needs_review" for code, _ in problems)
    return {
        "kind": "application",
        "status": "mangler" if errors else "komplet",
        "fields": {k: v for k, v in app.want.items() if k not in skip},
        "truth": dict(app.want),  # every value as typed, normalised by hand
        "budget": ONE_FTE,
        "problems": sorted(code for code, _ in problems),
        "problem_fields": sorted([code, field or ""] for code, field in problems),
        "submissions": 1,
    }


def tool_scenarios(start: int) -> list[Scenario]:
    """Every tool with values that fit and with texts that overflow, and LibreOffice budgets."""
    out: list[Scenario] = []
    n = start
    jobs = []
    plan = []
    for tool in tools.FORM_TOOLS:
        for long in (False, True):
            if tool in tools.SCANS and long != (tool == "ocr150"):
                continue  # one scan of each kind is enough (tesseract is slow)
            app = _app(n, f"tool_{tool}_{'long' if long else 'normal'}", LONG if long else NORMAL)
            n += 1
            plan.append((tool, long, app))
            jobs.append(lambda tool=tool, app=app: _form(tool, app))
    jobs += [lambda t=t, r=r: lo_budget(t, r) for t, r in (("xlsx", 0), ("ods", 2), ("xls", 0))]
    tools.warm(jobs)
    budget = budget_att(budget_xlsx(one_fte_budget()))
    for tool, long, app in plan:
        if tool in tools.SCANS:
            problems: list[tuple[str, str | None]] = [("form_ocr_layer", None)]
            skip = tuple(app.want)
        elif tool == "pdftk":
            problems, skip = [], ()
        else:
            unread = cannot_read(tool, long)
            problems = [("field_needs_review", "hire_type"), *[("field_unreadable", k) for k in unread]]
            skip = ("hire_type", *unread)
        out.append(Scenario(app.name, "application", app.sender,
                            [mail(app, [form_att(_form(tool, app)), budget], on(25))],
                            _expected(app, problems, skip)))
    for target, rows, mime in (("xlsx", 0, XLSX), ("ods", 2, "application/vnd.oasis.opendocument.spreadsheet"),
                               ("xls", 0, "application/vnd.ms-excel")):
        app = _app(n, f"libreoffice_budget_{target}", NORMAL)
        n += 1
        out.append(Scenario(app.name, "application", app.sender,
                            [mail(app, [form_att(_form("pdftk", app)),
                                        budget_att(lo_budget(target, rows), f"Budget.{target}", mime)], on(25))],
                            _expected(app, [], ())))
    return out
