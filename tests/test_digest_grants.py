"""The digest's part about answers and grants: who still has no answer (a warning from 14 days
before answer_by), letters not sent, and the quarters waiting, due and missing."""

from __future__ import annotations

import datetime as dt

from grant_helpers import NORD, UTC, decided_round, deliver, documentation
from notify_helpers import ingest

from intake.grants import letters
from intake.outbox import receipt_setup
from notifications import digest
from store.db import transaction

pytest_plugins = ["smtp_sink"]

WEB = "https://pulje.bl.dk"


def _digest(app, clock, day: dt.datetime) -> digest.Digest:
    clock.now = day
    with app.context.factory() as s:
        return digest.build(s, app.pool, day, WEB)


def _send_letters(app) -> None:
    with transaction(app.context.factory) as s:
        letters.send(s, app.pool, receipt_setup(app.settings, app.pool), app.context.now(), "mette")


def test_applicants_without_an_answer_are_counted_and_warned_about_in_time(make_app, workdir, clock, smtp_sink):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    # Nord and Vest are decided but not told yet; Syd is undecided
    d = _digest(app, clock, dt.datetime(2025, 9, 15, 5, 0, tzinfo=UTC))  # 15 days before 30 September
    g = d.data.grants
    assert (g.applications, g.unanswered, g.letters_waiting, g.warn) == (3, 3, 2, False)
    assert "- ansøgere uden svar: 3 af 3 (svar senest 30. september 2025, om 15 dage)" in d.text
    assert "- afgørelsesbreve, der ikke er sendt: 2 (pulje-intake decisions letters)" in d.text
    assert "OBS:" not in d.text and 'data-warning="answers"' not in d.html

    d = _digest(app, clock, dt.datetime(2025, 9, 16, 5, 0, tzinfo=UTC))  # 14 days before: the warning
    assert ("OBS: 3 ansøger(e) har endnu ikke fået svar, og alle skal have svar senest 30. september 2025 "
            "(om 14 dage).") in d.text
    assert 'data-warning="answers"' in d.html and "<b>3 ansøger(e) har endnu ikke fået svar</b>" in d.html

    _send_letters(app)
    g = _digest(app, clock, dt.datetime(2025, 9, 16, 6, 0, tzinfo=UTC)).data.grants
    assert (g.unanswered, g.letters_waiting, g.warn) == (1, 0, True)  # Syd still waits


def test_quarters_waiting_due_and_missing(make_app, workdir, clock, smtp_sink):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    _send_letters(app)
    deliver(workdir, documentation("Dokumentation", [("Lønsedler.pdf", "Lønsedler")],
                                   at=dt.datetime(2026, 4, 14, 9, 0, tzinfo=UTC)))
    clock.now = dt.datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    ingest(app)

    d = _digest(app, clock, dt.datetime(2026, 7, 15, 5, 0, tzinfo=UTC))
    g = d.data.grants
    assert (g.grants, g.waiting.count, g.due.count, g.missing.count) == (1, 1, 1, 0)
    (waiting,) = g.waiting.rows
    assert (waiting.case_id, waiting.organisation, waiting.quarter) == (NORD, "Boligselskabet Nord", "1. kvartal 2026")
    assert waiting.note == "modtaget 14.04.2026 kl. 11.00, kvartal udledt af datoen"  # no quarter was named
    assert waiting.link == f"{WEB}/sager/PSV-2025-0004"  # the quarter's documentation case
    (due,) = g.due.rows
    assert (due.quarter, due.note) == ("2. kvartal 2026", "frist 30. juli 2026")
    assert "VENTER PÅ GODKENDELSE (1)" in d.text and "DOKUMENTATION VENTES (1)" in d.text
    assert 'data-section="quarters-waiting"' in d.html and 'data-section="quarters-due"' in d.html

    g = _digest(app, clock, dt.datetime(2026, 8, 5, 5, 0, tzinfo=UTC)).data.grants
    assert (g.due.count, g.missing.count) == (0, 1)
    assert [r.quarter for r in g.missing.rows] == ["2. kvartal 2026"]
