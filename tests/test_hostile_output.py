"""Issue #9: what we write cannot be turned against anyone. The committee sheet holds no formula
made from an applicant's text; receipts name a handful of files; files with personal data are
not world-readable; the service's sandbox scores at most 3.0; the scripts refuse a Python whose
email package writes a header line break from an encoded word."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import write_settings
from notify_helpers import deliver, ingest
from test_cli import run

from intake.documents.filling import fill_budget_xlsx, fill_form_pdf
from intake.documents.samples import ONE_CARETAKER_BUDGET, SampleMail, application_values, make_mail
from notifications.receipts import Incoming, receipt_context
from notifications.render import render_letter
from store.models import Attachment, Case, Submission

ROOT = Path(__file__).resolve().parents[1]
FORMULAS = ['=HYPERLINK("http://evil.example/","klik")', "=cmd|'/c calc'!A1", "+SUM(1,2)", "-2+3",
            "@SUM(A1:A2)", "\t=1+1", "\r\n=1+1"]


def test_as_text_neutralises_a_formula_start():
    from intake.committee.cells import as_text

    assert [as_text(v) for v in FORMULAS] == [
        '\'=HYPERLINK("http://evil.example/","klik")', "'=cmd|'/c calc'!A1", "'+SUM(1,2)", "'-2+3",
        "'@SUM(A1:A2)", "'=1+1", "'=1+1"]
    assert as_text("Boligselskabet = godt") == "Boligselskabet = godt"
    assert as_text("a\x00b\x1fc") == "abc"


def test_formula_text_in_every_form_field_is_text_in_the_committee_sheet(app, workdir, clock):
    fm_values = application_values("x", "29190003", "Mette", "mette@kommune.dk", "Aarhus")
    hostile = {key: FORMULAS[i % len(FORMULAS)] for i, key in enumerate(fm_values)}
    hostile["org_name"] = FORMULAS[0]
    raw = make_mail("Ansøgning – Pulje til sociale viceværter", sender="Mette <mette@kommune.dk>",
                    domain="kommune.dk", attachments=[
                        ("Ansøgningsskema.pdf", fill_form_pdf(hostile), "application/pdf"),
                        ("Budget.xlsx", fill_budget_xlsx(ONE_CARETAKER_BUDGET), "application/octet-stream")])
    deliver(workdir, SampleMail("formulas", raw, clock.now - dt.timedelta(minutes=5)))
    ingest(app)
    out = workdir / "udvalg.xlsx"
    r = run("--config", str(app.settings.path), "export", "--format", "xlsx", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        strings = zf.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in zf.namelist() else ""
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere in the sheet
    from openpyxl import load_workbook

    ws = load_workbook(out).active
    row = {ws.cell(1, c).value: ws.cell(2, c) for c in range(1, ws.max_column + 1)}
    assert row["Organisation"].value == "'" + FORMULAS[0] and row["Organisation"].data_type == "s"
    texts = [cell.value for cell in row.values() if isinstance(cell.value, str)]
    assert not [t for t in texts if t.lstrip().startswith(("=", "+", "-", "@"))], texts
    assert "HYPERLINK" in strings + sheet  # the text is there, as text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640


def test_a_receipt_names_a_handful_of_files_and_counts_the_rest():
    from intake.outbox import pool_facts
    from intake.pool import load_pool

    pool = pool_facts(load_pool("sociale-viceværter-2025"))
    case = Case(case_id="PSV-2025-0001", kind="application", status="mangler", sender_name=None)
    sub = Submission(fields={}, budget={}, problems=[])
    sub.attachments = [Attachment(position=i, filename=f"bilag-{i:05d}\r\nBcc: x@y.txt", detected_type="text",
                                  role="bilag", size=1, sha256="0") for i in range(10_000)]
    incoming = Incoming(message_pk=1, message_id=None, references=[], headers={}, content_type="text/plain",
                        arrived_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC), subject="s" * 10_000,
                        from_addr="a@b.dk", from_name="x" * 1000)
    context = receipt_context(case, sub, incoming, pool)
    text, html = render_letter("receipt-application", context)
    assert len(context["attachments"]) == 5 and "- og 9.995 andre filer" in text and "og 9.995 andre filer" in html
    assert "bilag-00004 Bcc: x@y.txt" in text and "bilag-00005" not in text
    assert len(text) < 6000


@pytest.mark.parametrize("unit", ["deploy/pulje-intake.service", "deploy/pulje-intake-web.service"])
def test_the_units_sandbox_scores_at_most_3(unit):
    body = (ROOT / unit).read_text()
    for directive in ("UMask=0027", "MemoryMax=", "TasksMax=", "LimitNOFILE=", "ProtectKernelTunables=true",
                      "ProtectKernelModules=true", "ProtectKernelLogs=true", "RestrictAddressFamilies=",
                      "SystemCallFilter=@system-service", "CapabilityBoundingSet=\n"):
        assert directive in body, directive
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(ROOT / unit)],
                          capture_output=True, text=True, timeout=120)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    assert score is not None, done.stdout + done.stderr
    assert float(score.group(1)) <= 3.0, done.stdout


def test_the_worker_unit_takes_its_secrets_by_credential():
    body = (ROOT / "deploy/pulje-intake.service").read_text()
    assert "EnvironmentFile" not in body  # no secrets in the environment
    shipped = (ROOT / "deploy/settings.toml").read_text()
    named = set(re.findall(r'"\$\{CREDENTIALS_DIRECTORY\}/([\w-]+)"', shipped))
    assert named == {"db-password", "entra-client-secret", "web-secret"}
    web = (ROOT / "deploy/pulje-intake-web.service").read_text()
    assert "EnvironmentFile" not in web
    for name in named - {"web-secret"}:  # every secret the worker reads is handed over by systemd
        assert f"LoadCredential={name}:/etc/pulje-intake/credentials/{name}" in body
    for name in ("db-password", "web-secret"):  # and the web page's
        assert f"LoadCredential={name}:/etc/pulje-intake/credentials/{name}" in web


def test_files_with_personal_data_are_0640_even_under_a_loose_umask(workdir, db_url):
    from notify_helpers import application

    settings = write_settings(workdir, db_url)
    now = dt.datetime.now(dt.UTC)  # poll runs on the real clock: mail of today gets its receipt
    deliver(workdir, *[application(f"a{i}", f"A <a@bolig{i}.dk>", now) for i in range(3)])
    old = os.umask(0)
    try:
        from store.files import PRIVATE, open_private, write_private

        loose = workdir / "loose.txt"
        loose.write_text("x")
        loose.chmod(0o666)
        write_private(loose, "y")
        with open_private(workdir / "new.bin") as f:
            f.write(b"z")
        assert {stat.S_IMODE(os.stat(p).st_mode) for p in (loose, workdir / "new.bin")} == {PRIVATE}
    finally:
        os.umask(old)
    # the worker itself (its own umask 0027 besides the explicit modes)
    assert run("--config", str(settings), "poll").returncode == 0
    digest = workdir / "digest.html"
    assert run("--config", str(settings), "digest", "--out", str(digest)).returncode == 0
    assert run("--config", str(settings), "export", "--format", "json", "--out", str(workdir / "x.json")).returncode == 0
    files = [digest, workdir / "digest.html.txt", workdir / "x.json", *(workdir / "var" / "outbox").glob("*.eml")]
    if db_url.startswith("sqlite"):
        files.append(Path(db_url[len("sqlite:///"):]))
    assert len(files) >= 6
    assert {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in files} == {p.name: 0o640 for p in files}


# --- the scripts' interpreter check ---------------------------------------------------------

UNPATCHED = '''
import email.policy
_fold = email.policy.EmailPolicy.fold_binary
def fold_binary(self, name, value):  # the generator before CVE-2024-6923 was fixed
    from email.header import decode_header, make_header
    text = str(make_header(decode_header(str(value))))
    return (name + ": " + text + "\\r\\n").encode("utf-8", "surrogateescape")
email.policy.EmailPolicy.fold_binary = fold_binary
'''


def _unpatched_python(tmp: Path) -> Path:
    """A python3 whose email package writes an encoded word's CR/LF as a line break (simulated)."""
    (tmp / "site").mkdir()
    (tmp / "site" / "sitecustomize.py").write_text(UNPATCHED)
    wrapper = tmp / "python3-unpatched"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={tmp / "site"} exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def test_the_probe_passes_this_python_and_fails_an_unpatched_one(workdir):
    probe = ROOT / "scripts" / "email_probe.py"
    assert subprocess.run([sys.executable, str(probe)]).returncode == 0
    assert subprocess.run([str(_unpatched_python(workdir)), str(probe)]).returncode == 1


def test_the_scripts_refuse_an_unpatched_python_and_remake_its_venv(workdir):
    bad = _unpatched_python(workdir)
    project = workdir / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("venv.sh", "email_probe.py"):
        shutil.copy(ROOT / "scripts" / name, project / "scripts" / name)
    env = {**os.environ, "PULJE_PYTHON_CANDIDATES": str(bad)}
    refused = subprocess.run(["bash", "-c", "source scripts/venv.sh && make_venv"], cwd=project,
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "CVE-2024-6923" in refused.stderr and "PULJE_PYTHON" in refused.stderr
    # an existing .venv made by the unpatched one is made again from one that passes
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").symlink_to(bad)
    env["PULJE_PYTHON_CANDIDATES"] = f"{bad} {sys.executable}"
    remade = subprocess.run(["bash", "-c", "source scripts/venv.sh && make_venv"], cwd=project,
                            env=env, capture_output=True, text=True, timeout=300)
    assert remade.returncode == 0, remade.stderr
    assert "making it again" in remade.stdout and "not using" in remade.stderr
    probe = subprocess.run([str(project / ".venv" / "bin" / "python"), str(project / "scripts" / "email_probe.py")])
    assert probe.returncode == 0
