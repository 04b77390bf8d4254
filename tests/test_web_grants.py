"""A grant on the staff web page: its decision letter and its quarters, where staff approve or
reject the documentation as on the command line, and the grantee's mail is queued."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import webhelpers as wh
from grant_helpers import NORD, UTC, VEST, decided_round, deliver, documentation
from sqlalchemy import select
from starlette.testclient import TestClient

from intake.commands import cli
from intake.web.app import create_app
from store import grants
from store import repository as repo
from store.models import OutboxMessage

pytest_plugins = ["smtp_sink"]

PAYSLIPS = ("Lønsedler januar-marts 2026.pdf", "Lønsedler for den sociale vicevært")


def _row(page: str, quarter: str) -> str:
    """The text of one quarter's row of the case page, tags removed."""
    found = re.search(rf'<tr data-quarter="{quarter}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {quarter}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def _flash(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_staff_see_the_letter_and_decide_quarters_on_the_grants_page(make_app, workdir, clock, smtp_sink,
                                                                      monkeypatch, capsys):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    monkeypatch.setattr(cli, "_app", lambda a: app)
    assert cli.main(["decisions", "letters", "--send"]) == 0
    clock.now = dt.datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    deliver(workdir, documentation("Dokumentation Q1 2026", [PAYSLIPS]))
    cli.main(["poll"])
    capsys.readouterr()
    wh.add_user(app)
    staff = TestClient(create_app(app))
    assert wh.login(staff).status_code == 303

    page = staff.get(f"/sager/{NORD}").text
    assert 'data-letter="bevilling"' in page and "1.012.497,75 kr." in page and "sendt" in page
    q1 = _row(page, "2026Q1")
    assert "1. kvartal 2026" in q1 and "142.691,50 kr." in q1 and "modtaget" in q1 and "PSV-2025-0004" in q1
    assert "afventer" in _row(page, "2026Q2") and "ingen i intake" in _row(page, "2026Q2")

    r = wh.post(staff, f"/sager/{NORD}/kvartal/2026Q1", {"action": "approve"}, page=f"/sager/{NORD}")
    assert r.status_code == 303 and r.headers["location"] == f"/sager/{NORD}#kvartaler"
    page = staff.get(f"/sager/{NORD}").text
    assert "1. kvartal 2026 er godkendt; beskeden til tilskudsmodtageren er lagt i udbakken." in _flash(page)
    assert "godkendt af mette" in _row(page, "2026Q1")
    with app.context.factory() as s:
        q = grants.quarter_row(s, repo.get_case(s, NORD).id, "2026Q1")
        assert (q.state, q.amount, q.decided_by) == ("godkendt", "142691.50", "mette")
        subjects = list(s.scalars(select(OutboxMessage.subject).where(OutboxMessage.state == "pending")))
    assert f"[{NORD}] Godkendt: dokumentation for 1. kvartal 2026" in subjects

    # a rejection without a reason changes nothing and says why
    wh.post(staff, f"/sager/{NORD}/kvartal/2026Q2", {"action": "reject", "reason": " "}, page=f"/sager/{NORD}")
    page = staff.get(f"/sager/{NORD}").text
    assert "Intet ændret: En afvisning skal have en begrundelse" in _flash(page)
    assert "afventer" in _row(page, "2026Q2")
    why = "Lønsedlerne dækker ikke april–juni."
    wh.post(staff, f"/sager/{NORD}/kvartal/2026Q2", {"action": "reject", "reason": why}, page=f"/sager/{NORD}")
    assert "afvist af mette" in _row(staff.get(f"/sager/{NORD}").text, "2026Q2")
    assert why in _row(staff.get(f"/sager/{NORD}").text, "2026Q2")

    # a rejected application shows its letter and no quarters
    page = staff.get(f"/sager/{VEST}").text
    assert 'data-letter="afslag"' in page and 'id="kvartaler"' not in page
