"""Decision letters: reviewed as PDFs, sent once per decision, corrected when a decision changes."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from grant_helpers import NORD, REASON, SYD, VEST, attachments, decide, decided_round, mails_to
from pypdf import PdfReader
from sqlalchemy import func, select

from intake.commands import cli
from intake.pool import grant_conditions
from store.grant_models import DecisionLetter
from store.models import OutboxMessage

pytest_plugins = ["smtp_sink"]

NORD_PLAN = [("1. kvartal 2026", "142.691,50 kr."), ("2. kvartal 2026", "142.691,50 kr."),
             ("3. kvartal 2026", "142.691,50 kr."), ("4. kvartal 2026", "142.691,50 kr."),
             ("1. kvartal 2027", "110.432,94 kr."), ("2. kvartal 2027", "110.432,94 kr."),
             ("3. kvartal 2027", "110.432,94 kr."), ("4. kvartal 2027", "110.432,93 kr.")]


def _letters(app, *args: str, capsys, monkeypatch) -> str:
    """``pulje-intake decisions letters ARGS`` on the test's worker (and its clock)."""
    monkeypatch.setattr(cli, "_app", lambda a: app)
    assert cli.main(["decisions", "letters", "--by", "mette", *args]) == 0
    return capsys.readouterr().out


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def _count(app, model) -> int:
    with app.context.factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_letters_are_listed_and_written_as_pdfs_before_anything_goes(make_app, workdir, clock, smtp_sink, capsys, monkeypatch):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    outbox_before = _count(app, OutboxMessage)
    out = _letters(app, "--out", str(workdir / "review"), capsys=capsys, monkeypatch=monkeypatch)
    assert "PSV-2025-0001  bevilling" in out and "mette@boligselskabet-nord.dk" in out
    assert "1.012.497,75 kr." in out and "PSV-2025-0003  afslag" in out and SYD not in out
    assert "2 brev(e) venter; kør med --send" in out
    assert _count(app, OutboxMessage) == outbox_before and _count(app, DecisionLetter) == 0
    grant = _pdf_text((workdir / "review" / f"{NORD}-bevilling.pdf").read_bytes())
    for words in ("Boligselskabet Nord", "Att.: Mette Hansen", f"Sagsnummer: {NORD}", "AFGØRELSE: I FÅR TILSKUD",
                  "Bevilget beløb: 1.012.497,75 kr.", "1. kvartal 2026: 142.691,50 kr.",
                  "4. kvartal 2027: 110.432,93 kr.", "senest 31. januar 2028 kl. 23.59", "70 20 30 40"):
        assert words in grant, words
    assert "vedhæftet som PDF" not in grant  # that line is for the mail only
    rejection = _pdf_text((workdir / "review" / f"{VEST}-afslag.pdf").read_bytes())
    assert "Vestbo" in rejection and f"Udvalgets begrundelse: {REASON}" in rejection


def test_the_grant_letter_says_what_the_case_and_the_pool_file_say(make_app, workdir, clock, smtp_sink, capsys, monkeypatch):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    out = _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    assert "2 brev(e) lagt i udbakken" in out and "outbox: 2 sent" in out
    (letter,) = mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Bevilling")
    (receipt,) = mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Kvittering")
    assert letter.subject == f"[{NORD}] Bevilling: Pulje til sociale viceværter"
    msg = letter.message
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Loop"] == "pulje@bl.dk"
    assert msg["In-Reply-To"] == receipt.message_id  # it answers the application's receipt
    text, html = letter.text().replace("\r\n", "\n"), letter.html()
    assert text.startswith("Kære Mette Hansen\n")
    expected = ["Boligselskabet Nord får tilskud", "Bevilget beløb: 1.012.497,75 kr.",
                "1 social vicevært (årsværk) i 2026 og 2027", f"Sagsnummer: {NORD}",
                "CVR-nummer 34567891", "I alt: 1.012.497,75 kr.",
                f'"Dokumentation Q1 2026 [{NORD}]"', "- løndokumentation",
                "- opgørelse af aktivitetsmidler, hvis I har brugt nogen i kvartalet",
                "70 20 30 40", "Vi svarer normalt inden for 10 arbejdsdage.",
                "https://bl.dk/privatlivspolitik"]
    expected += [f"- {quarter}: {amount}" for quarter, amount in NORD_PLAN]
    expected += [f"- {condition}" for condition in grant_conditions(app.pool)]
    for words in expected:
        assert words in text, words
    assert "Ansøgt beløb" not in text  # the committee granted what was applied for
    plan_rows = re.findall(r"<tr><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td></tr>",
                           html.split('data-section="plan"')[1].split("</table>")[0])
    assert plan_rows == [*NORD_PLAN, ("I alt", "1.012.497,75 kr.")]
    for words in ("1.012.497,75 kr.", "1 social vicevært", "34567891", "privatlivspolitik"):
        assert words in html
    pdf = attachments(letter)[f"Afgørelse {NORD}.pdf"]
    assert pdf.startswith(b"%PDF") and "Bevilget beløb: 1.012.497,75 kr." in _pdf_text(pdf)

    (rejection,) = mails_to(smtp_sink, "anne@vestbo.dk", "Afslag")
    assert rejection.subject == f"[{VEST}] Afslag: Pulje til sociale viceværter"
    assert f"Udvalgets begrundelse: {REASON}" in rejection.text() and REASON in rejection.html()
    assert "Vestbo ikke får tilskud" in rejection.text() and "kr." not in rejection.text()
    assert f"Afgørelse {VEST}.pdf" in attachments(rejection)


def test_each_decision_gets_one_letter_across_repeated_runs_and_a_restart(
        make_app, workdir, clock, smtp_sink, capsys, monkeypatch):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    for _ in range(3):
        assert "ingen afgørelsesbreve venter" in _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    app = make_app(smtp_sink.settings_toml(max_receipt_age_hours=1000000))  # a new worker, same database
    assert "ingen afgørelsesbreve venter" in _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    assert len(mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Bevilling")) == 1
    assert len(mails_to(smtp_sink, "anne@vestbo.dk", "Afslag")) == 1
    assert _count(app, DecisionLetter) == 2


def test_a_changed_decision_gets_a_corrected_letter_under_the_first(make_app, workdir, clock, smtp_sink, capsys, monkeypatch):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    (first,) = mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Bevilling")
    clock.now = dt.datetime(2025, 9, 1, 8, 0, tzinfo=dt.UTC)
    decide(app, NORD, "bevilget", Decimal("900000"))
    out = _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    assert "PSV-2025-0001  rettet bevilling" in out and VEST not in out
    (corrected,) = mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Rettet bevilling")
    assert corrected.message["In-Reply-To"] == first.message_id
    text = corrected.text().replace("\r\n", "\n")
    assert "Dette brev erstatter afgørelsen, vi sendte 20. august 2025." in text
    assert "Bevilget beløb: 900.000,00 kr." in text and "Ansøgt beløb: 1.012.497,75 kr." in text
    # 900.000 / 1.012.497,75 of each quarter; the last quarter takes the rounding
    for quarter, amount in (("1. kvartal 2026", "126.837,17 kr."), ("1. kvartal 2027", "98.162,83 kr."),
                            ("4. kvartal 2027", "98.162,83 kr.")):
        assert f"- {quarter}: {amount}" in text
    assert f"Rettet afgørelse {NORD}.pdf" in attachments(corrected)

    # changed and changed back before the letters went: no letter is due
    decide(app, NORD, "bevilget", Decimal("950000"))
    decide(app, NORD, "bevilget", Decimal("900000"))
    assert "ingen afgørelsesbreve venter" in _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    assert len(mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "ettet")) == 1


def test_a_letter_that_cannot_be_mailed_is_named_for_staff(make_app, workdir, clock, smtp_sink, capsys, monkeypatch):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    with app.context.factory() as s, s.begin():
        from store import repository as repo

        repo.get_case(s, VEST).sender = "noreply@vestbo.dk"
    out = _letters(app, "--send", capsys=capsys, monkeypatch=monkeypatch)
    assert "IKKE SENDT: noreply@vestbo.dk is a no-reply address" in out
    assert "1 brev(e) lagt i udbakken; 1 kan ikke sendes" in out
    assert mails_to(smtp_sink, "noreply@vestbo.dk") == []
