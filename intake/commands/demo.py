"""``demo``: a complete run on generated sample mail, with no server at all."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from intake.commands import grantcommands
from intake.documents.samples import (
    demo_documentation_mail,
    demo_mail,
    demo_report_mail,
    write_maildir,
)
from store.words import CaseStatus

if TYPE_CHECKING:
    from intake.app import App

SETTINGS = """\
pool = "sociale-viceværter-2025"

[database]
url = "sqlite:///pulje-intake.db"

[[sources]]
type = "maildir"
name = "demo"
path = "mail"

[outbox]
mode = "files"
dir = "outbox"
max_receipt_age_hours = 1000000

[web]
port = 8080
"""

# The demo's staff account for the web page (a demo on the loopback address only).
DEMO_USER, DEMO_PASSWORD = "demo", "demo-adgangskode"


def _fill_decisions(sheet: Path, decisions: dict[str, tuple[str, str | None, str | None]]) -> None:
    """Type the committee's decisions (and the reason for an afslag) into the exported sheet."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = load_workbook(sheet)
    ws = cast(Worksheet, wb.active)  # the export's one sheet
    header = {str(c.value).strip().lower(): c.column for c in ws[1] if c.value}
    for row in range(2, ws.max_row + 1):
        case_id = str(ws.cell(row=row, column=header["sags-id"]).value)
        if case_id in decisions:
            decision, amount, reason = decisions[case_id]
            ws.cell(row=row, column=header["beslutning"], value=decision)
            ws.cell(row=row, column=header["bevilget beløb"], value=amount)
            ws.cell(row=row, column=header["begrundelse"], value=reason)
    wb.save(sheet)


def run_demo(directory: str | None = None) -> int:
    """A whole grant on sample mail: applications, receipts, committee decisions, decision letters,
    a quarter documented, approved and put on the payout list, the final report, the digest."""
    from intake.app import build_app
    from intake.commands import staff, views
    from intake.service import poll_once
    from intake.settings import load_settings

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="pulje-intake-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    write_maildir(root / "mail", demo_mail())
    settings_file = root / "settings.toml"
    settings_file.write_text(SETTINGS, encoding="utf-8")
    app = build_app(load_settings(settings_file))
    prefix = f"{app.pool.case_prefix}-{app.pool.case_year}"
    print(f"demo folder: {root}")
    print("\n== 1. the application round arrives")
    print(poll_once(app))

    print("\n== 2. the committee decides (committee sheet out, decisions back in)")
    sheet = root / "udvalg.xlsx"
    staff.export_command(app, "xlsx", str(sheet))
    _fill_decisions(sheet, {f"{prefix}-0001": (CaseStatus.GRANTED, "1012497,75", None),
                            f"{prefix}-0003": (CaseStatus.REJECTED, None,
                                               "Ansøgningen kom efter fristen og kunne ikke vurderes.")})
    staff.decisions_import_command(app, str(sheet))

    print("\n== 3. decision letters: staff read them (PDFs), then send them")
    letters = root / "afgørelser"
    grantcommands.letters_command(app, str(letters), False, DEMO_USER)
    grantcommands.letters_command(app, None, True, DEMO_USER)

    print("\n== 4. the grantee documents the first quarter of 2026; staff approve it; the payout list")
    write_maildir(root / "mail", demo_documentation_mail(f"{prefix}-0001"))
    print(poll_once(app))
    grantcommands.documentation_decide(app, f"{prefix}-0001", "2026Q1", True, None, DEMO_USER)
    payouts = root / "udbetaling-2026Q1.xlsx"
    grantcommands.payouts_command(app, "2026Q1", str(payouts), None)

    print("\n== 5. the grantee's final report arrives")
    write_maildir(root / "mail", demo_report_mail())
    print(poll_once(app))

    print()
    with app.context.factory() as s:
        print(views.cases_table(s, app.pool))
        print()
        print(views.messages_table(s, app.pool))
    print("\n== 6. what staff get")
    staff.digest_command(app, str(root / "digest.html"), False)
    staff.export_command(app, "xlsx", str(sheet))
    staff.export_command(app, "json", str(root / "sager.json"))
    outbox = app.settings.outbox.dir
    print()
    print(f"digest:      {root / 'digest.html'}  (open it in a browser; text version beside it)")
    print(f"spreadsheet: {sheet}")
    print(f"json:        {root / 'sager.json'}")
    print(f"letters:     {letters} (the PDFs staff read before sending)")
    print(f"payouts:     {payouts}")
    print(f"mail out:    {outbox} ({len(list(outbox.glob('*.eml')))} mail(s) as .eml files: receipts, "
          "letters, the quarter's approval)")
    print(f"settings:    {settings_file}")
    command = sys.argv[0] if sys.argv and sys.argv[0].endswith("pulje-intake") else "pulje-intake"
    print(f"try:         {command} --config {settings_file} cases show {prefix}-0001")
    _add_demo_user(app)
    print()
    print("== 7. the staff web page on this data")
    print(f"start it:    {command} --config {settings_file} web")
    print(f"then open:   {app.settings.web.base_url}/  and log in as '{DEMO_USER}' with '{DEMO_PASSWORD}'")
    return 0


def _add_demo_user(app: App) -> None:
    """The demo's staff account, so the web page can be opened on the demo's data."""
    from store import accounts
    from store.db import transaction

    with transaction(app.context.factory) as s:
        accounts.add_user(s, DEMO_USER, DEMO_PASSWORD, app.context.now())
