"""Every mail intake sends reads right: one voice, one clock, deadlines with a time, no snowballing
subjects, no internal names, threads, automatic-mail headers and the contact line everywhere."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from grant_helpers import NORD, PDF, decided_round, deliver, mails_to
from notify_helpers import application

from intake.commands.demo import run_demo
from intake.documents.samples import SampleMail, make_mail, minimal_pdf
from intake.service import poll_once

pytest_plugins = ["smtp_sink"]


@pytest.fixture(scope="module")
def demo_mails(tmp_path_factory):
    """Every mail of a whole demo round (receipts, letters, documentation, approval), parsed."""
    root = tmp_path_factory.mktemp("demo")
    assert run_demo(str(root)) == 0
    paths = sorted((root / "outbox").glob("*.eml"))
    return {p.name: email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths}


def _bodies(msg) -> tuple[str, str]:
    return (msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
            msg.get_body(("html",)).get_content())


def test_the_demo_sends_every_kind_of_letter(demo_mails):
    kinds = {re.sub(r"^PSV-\d{4}-\d{4}-|-\d+\.eml$", "", name) for name in demo_mails}
    assert kinds == {"receipt", "decision-letter", "documentation-receipt", "documentation-approved"}


def test_every_mail_is_marked_automatic_and_ours(demo_mails):
    for name, msg in demo_mails.items():
        assert msg["Auto-Submitted"] in ("auto-replied", "auto-generated"), name
        assert msg["X-Loop"] == "pulje@bl.dk", name
        assert msg["X-Auto-Response-Suppress"] == "All", name


def test_every_letter_ends_with_the_contact_line_and_the_handling_time(demo_mails):
    for name, msg in demo_mails.items():
        text, html = _bodies(msg)
        for body in (text, html):
            assert "70 20 30 40" in body and "mandag–torsdag kl. 9.00–15.00" in body, name
            assert "Vi svarer normalt inden for 10 arbejdsdage." in body, name
            assert "https://bl.dk/privatlivspolitik" in body, name


def test_one_voice_one_clock_and_deadlines_with_their_time(demo_mails):
    for name, msg in demo_mails.items():
        text, html = _bodies(msg)
        for body in (text, re.sub(r"<[^>]+>", " ", html)):
            # I/jer to an organisation, never du/din/dig
            assert not re.search(r"\b(du|din|dit|dine|dig)\b", body, re.IGNORECASE), name
            # "kl. 14.00", never "14:00"
            assert not re.search(r"\b\d{1,2}:\d{2}\b", body), name
            for clock in re.findall(r"kl\. \S+", body):
                assert re.fullmatch(r"kl\. \d{1,2}\.\d{2}(–\d{1,2}\.\d{2})?[,.)]*", clock), (name, clock)
            # a deadline always says its time of day
            for deadline in re.findall(r"frist(?:en)? (?:er|var) ([^,.]*\d{4}[^,.]*)", body):
                assert "kl. 23.59" in deadline, (name, deadline)
            assert "CVR-nummer: CVR-nummeret" not in body
            # no internal names
            for internal in ("ledelseserklaering", "faglig_afrapportering", "aktivitetsmidler]", "loen"):
                assert internal not in body, (name, internal)


def test_our_subjects_carry_one_tag_and_no_reply_prefix(demo_mails):
    for msg in demo_mails.values():
        subject = str(msg["Subject"])
        assert len(re.findall(r"\[PSV-\d{4}-\d{4}\]", subject)) == 1, subject
        assert not re.search(r"\b(SV|Re|VS|Fwd|AW):", subject, re.IGNORECASE), subject


def test_a_late_application_is_told_one_thing(make_app, workdir, clock, smtp_sink):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    (receipt,) = mails_to(smtp_sink, "anne@vestbo.dk", "Kvittering")
    text = receipt.text().replace("\r\n", "\n")
    assert ("Jeres ansøgning til Pulje til sociale viceværter nåede frem til os 2. august 2025 kl. 00.05 "
            "(dansk tid), efter ansøgningsfristen 1. august 2025 kl. 23.59.") in text
    assert "Derfor kan ansøgningen desværre ikke komme i betragtning" in text and "I skal ikke sende mere." in text
    for contradiction in ("skal rettes", "SKAL I RETTE", "vedhæft de rettede", "I får svar", "30. september",
                          "Sådan gør I"):
        assert contradiction not in text and contradiction not in receipt.html()
    assert app  # the round went through the real worker


def test_replies_to_receipts_do_not_snowball_the_subject(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml())
    deliver(workdir, application("syd", "Jens Ølgaard <jens@bf-syd.dk>", clock.now,
                                 subject="VS: Ansøgning – Pulje til sociale viceværter – Boligforeningen Syd"))
    poll_once(app)
    for _ in range(2):  # answer the newest receipt, keeping its subject as mail programs do
        receipt = mails_to(smtp_sink, "jens@bf-syd.dk")[-1]
        clock.advance(minutes=5)
        reply = make_mail(f"SV: {receipt.subject}", sender="Jens Ølgaard <jens@bf-syd.dk>", domain="bf-syd.dk",
                          headers={"In-Reply-To": receipt.message_id, "References": receipt.message_id},
                          attachments=[("Budget.xlsx", b"PK\x03\x04 not really a workbook", "application/vnd.ms-excel")])
        deliver(workdir, SampleMail("reply", reply, clock.now))
        poll_once(app)
    subjects = [m.subject for m in mails_to(smtp_sink, "jens@bf-syd.dk")]
    # our subject word and case tag once, then 60 characters of theirs (issue #9)
    assert subjects == ["[PSV-2025-0001] Kvittering: Ansøgning – Pulje til sociale viceværter – Boligforeningen…"] * 3


def test_a_report_receipt_names_its_grant_and_its_parts_in_danish(make_app, workdir, clock, smtp_sink):
    app = decided_round(make_app, workdir, clock, smtp_sink)
    deliver(workdir, SampleMail("report", make_mail(
        f"Afrapportering pulje til sociale viceværter [{NORD}]", sender="Mette Hansen <mette@boligselskabet-nord.dk>",
        domain="boligselskabet-nord.dk",
        attachments=[("Ledelseserklæring.pdf", minimal_pdf("Ledelseserklaering"), PDF),
                     ("Regnskab.pdf", minimal_pdf("Regnskab for tilskuddet"), PDF)]), clock.now))
    poll_once(app)
    (receipt,) = mails_to(smtp_sink, "mette@boligselskabet-nord.dk", "Afrapportering")
    assert receipt.subject.startswith(f"[{NORD}] Kvittering: Afrapportering")  # the grant's number
    text, html = receipt.text().replace("\r\n", "\n"), receipt.html()
    assert f"Vi har lagt den på jeres bevilling {NORD} (Boligselskabet Nord)." in text
    assert "- Ledelseserklæring.pdf: læst som ledelseserklæring" in text
    assert "- Regnskab.pdf: læst som regnskab" in text
    for missing in ("den faglige afrapportering af resultaterne (højst 1½ side)",
                    "revisors revisionsberetning til regnskabet", "revisors revisionsprotokollat"):
        assert f"- For at afrapporteringen er komplet, mangler vi {missing}." in text and missing in html
    for body in (text, html):
        assert "ledelseserklaering" not in body and "faglig_afrapportering" not in body
        assert "revisionsberetning:" not in body  # no field label in front of a message


def test_a_file_too_large_to_read_is_named_with_its_size_in_megabytes(make_app, workdir, clock, smtp_sink):
    app = make_app(smtp_sink.settings_toml() + "\n[processing]\nmax_attachment_bytes = 1048576\n")
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)  # 3 MB, above the 1 MB limit
    deliver(workdir, SampleMail("big", make_mail(
        "Ansøgning – Pulje til sociale viceværter", sender="Jens Ølgaard <jens@bf-syd.dk>", domain="bf-syd.dk",
        attachments=[("Ansøgningsskema.pdf", big, PDF)]), clock.now))
    poll_once(app)
    (receipt,) = mails_to(smtp_sink, "jens@bf-syd.dk")
    text = receipt.text()
    assert "- Ansøgningsskema.pdf: ikke læst, for stor (3 MB)" in text
    assert 'Filen "Ansøgningsskema.pdf" er for stor til at blive behandlet (3 MB; grænsen er 1 MB).' in text
    assert "bytes" not in text and "læst som for stor" not in text
