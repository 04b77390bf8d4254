"""Issue #9, the processing half: a mail is read in a child process with hard limits (memory, CPU
time, wall-clock time). A read past a limit is a problem on the case that tells the applicant what
to send, never a hung or dead worker, and the next application in the same batch is still read.

The big input is legal (a budget of 400,000 filled cells, allowed by ``max_sheet_cells`` here),
only too big for the tiny limits each case sets; the normal application needs far less.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import hostile
import pytest
from conftest import write_settings
from sqlalchemy import select

from intake.cases.reading import Reader
from intake.commands.cli import main
from intake.documents.samples import SampleMail, make_mail, write_maildir
from intake.pool import load_pool
from intake.service import poll_once
from intake.settings import load_settings
from store.models import Case, RawMessage
from store.words import MessageState

NOW = dt.datetime(2025, 7, 20, 10, 0, tzinfo=dt.UTC)  # before the deadline: "mangler", not "for sent"
ALLOW_BIG = "[processing]\nmax_sheet_cells = 5000000\n"


@pytest.fixture(scope="module")
def big_budget() -> bytes:
    """A budget workbook of 400,000 filled cells: legal here, slow (seconds) and big to read."""
    return hostile.xlsx_no_dimension(400_000)


@pytest.mark.parametrize(("limit", "why"), [
    ("child_memory_mb = 110", "de krævede mere hukommelse, end vi giver en enkelt mail"),
    ("child_cpu_seconds = 2", "de krævede mere regnetid, end vi giver en enkelt mail"),
    ("child_wall_seconds = 3\nclaim_seconds = 7", "det tog længere tid, end vi giver en enkelt mail"),
], ids=["memory", "cpu", "wall-clock"])
def test_a_read_past_a_limit_is_a_problem_on_the_case_and_the_next_application_is_read(
        limit, why, big_budget, workdir, db_url, make_app):
    cvr = hostile.valid_cvrs(1)[0]
    normal, values = hostile.normal_application(0, cvr)
    write_maildir(workdir / "mail", [
        SampleMail("a-big", hostile.application_with("stor.dk", None, big_budget), NOW),
        SampleMail("b-normal", normal, NOW + dt.timedelta(seconds=1)),
    ])
    settings = write_settings(workdir, db_url, ALLOW_BIG + limit + "\n")
    assert main(["--config", str(settings), "-q", "poll"]) == 0

    app = make_app(ALLOW_BIG + limit + "\n")
    with app.context.factory() as s:
        messages = list(s.scalars(select(RawMessage).order_by(RawMessage.id)))
        assert [(m.state, m.attempts) for m in messages] == [(MessageState.PROCESSED, 1)] * 2
        big = s.scalars(select(Case).where(Case.sender == "afsender@stor.dk")).one()
        current = big.submissions[-1]
        assert big.status == "mangler"
        codes = [p["code"] for p in current.problems]
        assert "attachments_not_read" in codes, codes
        problem = next(p for p in current.problems if p["code"] == "attachments_not_read")
        assert problem["message"].startswith(f"Vi kunne ikke læse de vedhæftede filer i din mail, fordi {why}.")
        # the files are listed on the case, not read
        assert [a.filename for a in current.attachments] == ["Ansøgningsskema.pdf", "Budget.xlsx"]
        assert current.budget == {} and current.fields == {}
        # the next application in the batch became a case with its values read
        case = s.scalars(select(Case).where(Case.cvr == values["cvr"])).one()
        sub = case.submissions[-1]
        assert sub.fields["amount_requested"]["value"] == "1012497.75"
        assert sub.budget["total"] == "1012497.75"


def test_a_mail_that_cannot_even_be_parsed_within_the_limits_is_quarantined_with_the_reason(
        workdir, db_url, make_app):
    """The limits apply to parsing the mail too; then there is nothing to make a case of."""
    big = make_mail(hostile.APPLICATION, sender="Afsender <afsender@stor.dk>", domain="stor.dk",
                    attachments=[("bilag.bin", os.urandom(30 << 20), "application/octet-stream")])
    write_maildir(workdir / "mail", [SampleMail("a-big", big, NOW),
                                     SampleMail("b-small", make_mail("Spørgsmål"), NOW + dt.timedelta(seconds=1))])
    app = make_app("[processing]\nchild_memory_mb = 110\n")
    assert poll_once(app).processed == {"quarantined": 1, "triage": 1}
    with app.context.factory() as s:
        first = s.get_one(RawMessage, 1)
        assert (first.state, first.attempts) == (MessageState.QUARANTINED, 1)
        assert first.reason == "reading the mail stopped (memory limit): more than 110 MB of memory"


def test_the_child_gets_the_limits_of_the_settings(workdir, db_url):
    settings = load_settings(write_settings(workdir, db_url, "[processing]\nchild_memory_mb = 300\n"
                                                            "child_cpu_seconds = 7\n"))
    assert (settings.processing.child_memory_mb, settings.processing.child_cpu_seconds) == (300, 7)
    assert (settings.processing.child_wall_seconds, settings.processing.claim_seconds) == (90.0, 300.0)
    reader = Reader(settings, load_pool(settings.pool, None))
    try:
        reader.begin()
        reader.parse(b"Subject: x\r\n\r\nx", settings.processing.sizes)
        text = Path(f"/proc/{reader._proc.pid}/limits").read_text()
        assert "Max address space         314572800" in text
        assert "Max core file size        0" in text
        # out of memory in the service's cgroup, the kernel ends a reader rather than the worker
        assert Path(f"/proc/{reader._proc.pid}/oom_score_adj").read_text().strip() == "1000"
    finally:
        reader.close()


def test_the_service_starts_its_readers_before_the_first_mail_and_stops_them(workdir, db_url, make_app):
    """The first application after a start is read by a reader already running (the fork server
    with the PDF and spreadsheet libraries imported), not one started for it; none outlives the stop."""
    from intake.service import Service

    (workdir / "mail" / "new").mkdir(parents=True)
    app = make_app("[processing]\nreaders = 2\nclaim_seconds = 200\n")
    service = Service(app)
    service.start()
    try:
        readers = app.context.readers
        assert len(readers) == 2
        pids = [r._proc.pid for r in readers]
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
        forkserver = {Path(f"/proc/{pid}/stat").read_text().split()[3] for pid in pids}
        assert len(forkserver) == 1  # both forked from one server, which imported the libraries once
        command = Path(f"/proc/{forkserver.pop()}/cmdline").read_bytes().decode()
        assert all(f"'{library}'" in command for library in ("pypdf", "pdfplumber", "openpyxl")), command
    finally:
        service.shutdown()
    assert not any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
                   for pid in pids)
