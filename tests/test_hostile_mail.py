"""Issue #9: a public inbox. Hostile mail, generated here, through the real worker (``poll`` in a
subprocess, as cron runs it), each followed in the same batch by a normal application that must
still become a case with its values read. Every hostile mail ends processed, with a reason and,
where it made a case, the problem that tells the applicant what to do; the worker's peak memory
stays under the reading limit; no receipt carries a header made from the sender's bytes.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import hostile
import pytest
from conftest import write_settings
from docbuilders import many_pages_pdf
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from intake.documents.samples import SampleMail, make_mail, write_maildir
from store.models import Case, RawMessage
from store.words import MessageState

TRUSTED = "mx.bl.dk"
# the memory the reading child may use ([processing] child_memory_mb, its default); the worker stays under it
MEMORY_LIMIT_MB = 1024
PASS = "Authentication-Results: " + TRUSTED + "; spf=pass smtp.mailfrom={d}; dmarc=pass header.from={d}\r\n"


def with_header(raw: bytes, name: bytes, line: bytes | None) -> bytes:
    """``raw`` with its header ``name`` (and folded lines) replaced by ``line`` (bytes, CRLF
    included), or removed when ``line`` is None; ``line`` goes on top when there was no such header."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    lines = re.split(rb"\r?\n(?![ \t])", head)
    kept = [ln for ln in lines if not ln.lower().startswith(name.lower() + b":")]
    new = b"\r\n".join(kept) + b"\r\n"
    if line is not None:
        new = line + new if len(kept) == len(lines) else _insert(lines, name, line)
    return new.rstrip(b"\r\n") + b"\r\n" + sep.replace(b"\n\n", b"\r\n\r\n")[2:] + body


def _insert(lines: list[bytes], name: bytes, line: bytes) -> bytes:
    out = []
    for ln in lines:
        out.append(line.rstrip(b"\r\n") if ln.lower().startswith(name.lower() + b":") else ln)
    return b"\r\n".join(out) + b"\r\n"


def verified(raw: bytes, domain: str) -> bytes:
    """The mail as the inbox's server passes it on for a sender it verified."""
    return PASS.format(d=domain).encode() + raw


HOSTILE_SUBJECT = "Ansøgning – Pulje til sociale viceværter =?utf-8?q?=0D=0ABcc:_victim=40example.com?=".encode()
FROM_NAME_HOLDS_ADDRESS = b"=?utf-8?q?victim=40example.com_=3Cvictim=40example.com=3E?= <afsender@navn.dk>"
FROM_ONLY_ENCODED = b"=?utf-8?q?pulje=40bl.dk?="
FROM_OUTLOOK = b"=?iso-8859-1?Q?S=F8rensen=2C_Mette?= <mette@kommune.dk>"


def hostile_set() -> list[tuple[str, bytes, str, str | None]]:
    """(name, raw mail, its sender as intake should read it, the problem code its case carries)."""
    h = hostile
    return [
        ("pdf-bomb", h.application_with("pdfbomb.dk", h.pdf_inflate_bomb(), None),
         "afsender@pdfbomb.dk", "form_unpacks_too_large"),
        ("xlsx-sheet-bomb", h.application_with("sheetbomb.dk", None, h.xlsx_sheet_bomb()),
         "afsender@sheetbomb.dk", "budget_unpacks_too_large"),
        ("xlsx-no-dimension", h.application_with("nodim.dk", None, h.xlsx_no_dimension()),
         "afsender@nodim.dk", "budget_too_many_cells"),
        ("xlsx-shared-string", h.application_with("sst.dk", None, h.xlsx_shared_string_bomb()),
         "afsender@sst.dk", "budget_unpacks_too_large"),
        ("pdf-5000-pages", h.application_with("pages.dk", many_pages_pdf(5000), None),
         "afsender@pages.dk", "form_too_many_pages"),
        ("pdf-page-tree-loop", h.application_with("loop.dk", h.pdf_page_tree_loop(), None),
         "afsender@loop.dk", "form_corrupt"),
        ("mime-5000-deep", h.nested_mime(5000, sender=b"a@deep.dk"), "a@deep.dk", "mail_too_deep"),
        ("10000-attachments", h.many_attachments(10_000, sender=b"a@many.dk"), "a@many.dk", "mail_too_many_parts"),
        ("5mb-header", h.big_header(5 << 20, sender=b"a@header.dk"), "a@header.dk", "mail_header_too_large"),
        ("1mb-subject", h.big_subject(1 << 20, sender=b"a@subject.dk"), "a@subject.dk", "mail_header_too_large"),
        ("subject-injection", verified(with_header(
            make_mail("x", sender="Afsender <afsender@inject.dk>", domain="inject.dk"), b"Subject",
            b"Subject: " + HOSTILE_SUBJECT + b"\r\n"), "inject.dk"), "afsender@inject.dk", None),
        ("from-name-holds-address", verified(with_header(
            make_mail(hostile.APPLICATION, domain="navn.dk"), b"From", b"From: " + FROM_NAME_HOLDS_ADDRESS + b"\r\n"),
            "navn.dk"), "afsender@navn.dk", None),
        ("from-only-encoded", with_header(
            make_mail(hostile.APPLICATION, domain="x.dk"), b"From", b"From: " + FROM_ONLY_ENCODED + b"\r\n"),
         None, None),
        ("from-outlook", verified(with_header(
            make_mail(hostile.APPLICATION, domain="kommune.dk"), b"From", b"From: " + FROM_OUTLOOK + b"\r\n"),
            "kommune.dk"), "mette@kommune.dk", None),
        ("forged-sender", b"Authentication-Results: " + TRUSTED.encode()
         + b"; spf=fail smtp.mailfrom=borger.dk; dmarc=fail header.from=borger.dk\r\n"
         + make_mail(hostile.APPLICATION, sender="Borgmester <borgmester@borger.dk>", domain="evil.example"),
         "borgmester@borger.dk", None),
    ]


@pytest.fixture(scope="module")
def batch():
    """The hostile set, each mail followed by a normal application (names, mails, expectations)."""
    hostile_mails = hostile_set()
    cvrs = hostile.valid_cvrs(len(hostile_mails))
    mails, expected = [], {}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for i, (name, raw, sender, code) in enumerate(hostile_mails):
        normal, values = hostile.normal_application(i, cvrs[i])
        mails.append(SampleMail(f"{i:02d}a-{name}", raw, now))
        mails.append(SampleMail(f"{i:02d}b-normal", verified(normal, f"bolig{i}.dk"), now))
        expected[name] = (sender, code, values)
    return mails, expected


def _poll(settings: Path) -> tuple[int, int, str]:
    """Run ``pulje-intake poll`` in a fresh interpreter; (exit code, peak RSS in MB, output)."""
    code = ("import resource, sys\n"
            "from intake.commands.cli import main\n"
            f"rc = main(['--config', {str(settings)!r}, 'poll'])\n"
            "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "print('PEAK_KB', peak, file=sys.stderr)\n"
            "sys.exit(rc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.parent)
    peak = re.search(r"PEAK_KB (\d+)", done.stderr)
    return done.returncode, int(peak.group(1)) // 1024 if peak else -1, done.stdout + done.stderr


def _no_control_characters(text: str) -> bool:
    return not any(unicodedata.category(ch)[0] == "C" for ch in text)


def test_hostile_mail_ends_with_a_reason_and_the_next_application_still_becomes_a_case(batch, workdir, db_url):
    mails, expected = batch
    write_maildir(workdir / "mail", mails)
    settings = write_settings(workdir, db_url, f'[outbox]\ntrusted_authserv_id = "{TRUSTED}"\n')

    rc, peak_mb, output = _poll(settings)
    print(f"hostile set: {len(mails)} mails, worker peak {peak_mb} MB (limit {MEMORY_LIMIT_MB} MB)")
    assert rc == 0, output
    assert 0 < peak_mb < MEMORY_LIMIT_MB, f"the worker peaked at {peak_mb} MB"

    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            stored = list(s.scalars(select(RawMessage)))
            assert len(stored) == len(mails)
            for m in stored:  # every mail processed, with the reason
                assert m.state == MessageState.PROCESSED and m.reason, (m.subject[:60], m.state, m.last_error)
            assert max(len(m.subject or "") for m in stored) <= 1000  # the 1 MB subject is cut
            cases = list(s.scalars(select(Case)))
            by_org = {c.org_name: c for c in cases if c.org_name}
            by_sender: dict[str | None, list[Case]] = {}
            for c in cases:
                by_sender.setdefault(c.sender, []).append(c)
            for i, (name, (sender, code, values)) in enumerate(expected.items()):
                # the normal application after it became a case with its values read
                case = by_org.get(f"Boligforeningen Normal {i}")
                assert case is not None, f"the application after {name} made no case"
                current = case.submissions[-1]
                assert case.cvr == values["cvr"]
                assert current.fields["amount_requested"]["value"] == "1012497.75"
                assert current.budget["total"] == "1012497.75"
                # the hostile one made a case from its real sender that says what went wrong
                (made,) = by_sender[sender]
                if code is not None:
                    assert code in [p["code"] for p in made.submissions[-1].problems], (name, made.submissions[-1].problems)
            # the sender is parsed before its name is decoded
            (outlook,) = by_sender["mette@kommune.dk"]
            assert (outlook.sender_name, outlook.sender_auth) == ("Sørensen, Mette", "bekræftet")
            assert by_sender["afsender@navn.dk"][0].sender_name == "victim@example.com <victim@example.com>"
            assert not [c for c in cases if c.sender and "victim" in c.sender]
            (encoded_only,) = by_sender[None]  # "pulje@bl.dk" written in an encoded word: no address
            assert "the From address cannot be read" in (encoded_only.receipts_suppressed or "")
            (forged,) = by_sender["borgmester@borger.dk"]
            assert forged.sender_auth == "ikke bekræftet" and "not verified" in (forged.receipts_suppressed or "")
    finally:
        engine.dispose()

    # receipts: only to verified senders, every header ours and clean
    outbox = workdir / "var" / "outbox"
    receipts = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(outbox.glob("*.eml"))]
    recipients = sorted(str(r["To"].addresses[0].addr_spec) for r in receipts)
    normal = sorted(f"mette@bolig{i}.dk" for i in range(len(expected)))
    assert recipients == sorted([*normal, "afsender@inject.dk", "afsender@navn.dk", "mette@kommune.dk"])
    for r in receipts:
        assert sorted(k.lower() for k in r.keys()) == sorted(
            ["from", "to", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
             "auto-submitted", "x-auto-response-suppress", "x-loop", "mime-version", "content-type"]), r.keys()
        for key, value in r.items():
            assert _no_control_characters(str(value)), (key, value)
            assert "victim" not in str(value)
    injected = next(r for r in receipts if r["To"].addresses[0].addr_spec == "afsender@inject.dk")
    # our words, the case tag, 60 characters of theirs, and no encoded word of theirs left to decode
    assert re.fullmatch(r"\[PSV-2025-\d{4}\] Kvittering: Ansøgning – Pulje til sociale viceværter "
                        r"= \?utf-8\?q\?=0D=0AB…", str(injected["Subject"])), str(injected["Subject"])
    outlook = next(r for r in receipts if r["To"].addresses[0].addr_spec == "mette@kommune.dk")
    assert outlook["To"].addresses[0].display_name == "Sørensen, Mette"

    # applicants' data is not world-readable
    database = [Path(db_url[len("sqlite:///"):])] if db_url.startswith("sqlite") else []
    for path in [*outbox.glob("*.eml"), *database]:
        assert os.stat(path).st_mode & 0o777 == 0o640, path
