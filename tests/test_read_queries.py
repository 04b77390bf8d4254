"""Lists read a fixed number of SQL statements, however many cases there are (issue #15).

Staff open `cases list`, the exports, the digest and the web pages on 10,000
cases; a query per case there is minutes, not a second. Each read path is run
on a database with N cases of every shape, then on one with 3N, and the
statements the database received are counted (SQLAlchemy's
``before_cursor_execute`` event on every engine): the counts must be equal.
Not timed: speed is measured in bench/.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager

import casefactory as cf
import webhelpers as wh
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from intake.commands.cli import main
from intake.web.app import create_app
from store.grant_models import DecisionLetter, GrantQuarter
from store.models import OutboxMessage
from store.words import MessageState

UTC = dt.UTC
_numbers = itertools.count(1)


def _outbox(s, case, purpose: str, state: str) -> OutboxMessage:
    n = next(_numbers)
    row = OutboxMessage(dedupe_key=f"{purpose}:{n}", purpose=purpose, case_pk=case.id, recipient=case.sender,
                        message_id=f"<out-{n}@bl.dk>", subject="Kvittering", raw=b"Subject: x\r\n\r\nx\r\n",
                        state=state, created_at=case.received_at, last_error="550 no" if state == "failed" else None)
    s.add(row)
    s.flush()
    return row


def add_cases(app, start: int, n: int) -> None:
    """``n`` of every shape a list shows: a complete application with a warning, a grant with its
    letter and a quarter's documentation, a rejection without a letter yet, a report, mail in
    triage and a receipt that failed."""
    received = dt.datetime(2025, 7, 20, 10, 0, tzinfo=UTC)
    with app.context.factory() as s, s.begin():
        for i in range(start, start + n):
            cf.make_case(s, f"PSV-2025-{4 * i + 1:05d}", problems=[
                cf.problem("form_printed_checkbox", "hire_type", "Et afkrydset felt er læst fra en print.", "warning")])
            grant = cf.make_case(s, f"PSV-2025-{4 * i + 2:05d}", status="bevilget", decision="bevilget",
                                 granted_amount="500000.00", set_case_columns=False)
            letter = _outbox(s, grant, "decision-letter", "sent")
            s.add(DecisionLetter(case_pk=grant.id, version=1, kind="bevilling", decision="bevilget",
                                 amount="500000.00", outbox_pk=letter.id, recipient=grant.sender or "",
                                 created_at=received))
            grant.decision_version = 1
            doc = cf.make_case(s, f"PSV-2025-{4 * i + 3:05d}", kind="documentation", status="modtaget",
                               fields={}, budget_={}, attachments=(("Løn.pdf", "pdf", "dokumentation"),))
            doc.parent_pk = grant.id
            s.add(GrantQuarter(case_pk=grant.id, quarter="2026Q1", state="modtaget", documentation_pk=doc.id,
                               received_at=received, updated_at=received))
            cf.make_case(s, f"PSV-2025-{4 * i + 4:05d}", status="afslag", decision="afslag", sender=f"o{i}@x.dk")
            report = cf.make_case(s, f"PSV-R-{i + 1:05d}", kind="report", status="mangler", fields={}, budget_={},
                                  attachments=(("Rapport.pdf", "pdf", "rapportdel"),))
            report.parent_pk = grant.id
            cf.raw_message(s, received=received, subject=f"Spørgsmål {i}", outcome="triage", reason="no subject match")
            cf.raw_message(s, received=received, subject=f"Ødelagt {i}", state=MessageState.QUARANTINED,
                           last_error="MemoryError")
            _outbox(s, report, "receipt", "failed")


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to any database while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _cli(workdir, *args: str) -> int:
    with statements() as seen:
        assert main(["--config", str(workdir / "settings.toml"), *args]) == 0
    return len(seen)


def read_paths(app, workdir, capsys) -> dict[str, int]:
    """Statements per read path, as staff run them."""
    counts = {
        "cases list": _cli(workdir, "cases", "list"),
        "cases list --triage": _cli(workdir, "cases", "list", "--triage"),
        "export json": _cli(workdir, "export", "--format", "json", "--out", str(workdir / "e.json")),
        "export xlsx": _cli(workdir, "export", "--format", "xlsx", "--out", str(workdir / "e.xlsx")),
        "digest": _cli(workdir, "digest", "--out", str(workdir / "digest.html")),
    }
    capsys.readouterr()
    client = TestClient(create_app(app))
    assert wh.login(client).status_code == 303
    for page in ("/", "/?slags=triage", "/?slags=review", "/sager", "/sager?problemer=ja", "/sager?q=psv",
                 "/sager/PSV-2025-00002", "/post/1", "/udbakke/1"):
        with statements() as seen:
            assert client.get(page).status_code == 200, page
        counts[page] = len(seen)
    return counts


def test_every_list_reads_the_same_statements_for_n_and_3n_cases(app, workdir, capsys, clock):
    wh.add_user(app)
    add_cases(app, 0, 4)
    small = read_paths(app, workdir, capsys)
    add_cases(app, 4, 8)
    large = read_paths(app, workdir, capsys)
    assert large == small
    # and the lists did list them all: 48 cases + 12 reports, 12 grants waiting for approval
    data = json.loads((workdir / "e.json").read_text(encoding="utf-8"))
    assert len(data) == 60
    assert data[1]["message_ids"] and data[1]["attachments"]
    assert "Daglig oversigt" in (workdir / "digest.html").read_text(encoding="utf-8")



def test_the_case_list_shows_the_first_page_and_counts_them_all(app, monkeypatch):
    from intake.web import cases

    wh.add_user(app)
    add_cases(app, 0, 2)  # 10 cases
    monkeypatch.setattr(cases, "MAX_LIST", 3)  # the page size, so a few cases fill more than a page
    client = TestClient(create_app(app))
    assert wh.login(client).status_code == 303
    page = client.get("/sager").text
    assert "10 sag(er), de første 3 vises" in page
    assert page.count("<tr data-case") == 3
    assert [f"PSV-2025-0000{i}" in page for i in (1, 2, 3, 4)] == [True, True, True, False]
    page = client.get("/sager?slags=report").text
    assert "2 sag(er)." in page and page.count("<tr data-case") == 2


def test_cases_list_counts_the_current_submission_as_cases_show_does(app, workdir, capsys):
    """A resubmission: the list's files and problems are the new version's, as `cases show` says."""
    from store.models import Attachment, Submission

    with app.context.factory() as s, s.begin():
        case = cf.make_case(s, "PSV-2025-0001", problems=[cf.problem("missing_field", "cvr", "Mangler CVR.")])
        first = case.submissions[0]
        first.current = False
        msg = cf.raw_message(s, received=first.received_at, case=case)
        newer = Submission(case=case, message_pk=msg.id, received_at=first.received_at, status="komplet",
                           current=True, fields={}, budget={}, problems=[], created_at=first.received_at)
        s.add(newer)
        s.add(Attachment(submission=newer, position=0, filename="Budget.xlsx", detected_type="xlsx", size=1,
                         sha256="1" * 64, role="budget"))
        old = cf.make_case(s, "PSV-2025-0002", problems=[cf.problem("late", None, "For sent.")])
        old.submissions[0].current = False  # none current: the newest counts
    assert main(["--config", str(workdir / "settings.toml"), "cases", "list"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("PSV")}
    assert lines["PSV-2025-0001"][-2:] == ["1", "0"]  # one file, no problems: the new version
    assert lines["PSV-2025-0002"][-2:] == ["2", "1"]
