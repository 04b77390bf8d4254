"""The staff digest: every element against the database, the "new since" mark,
the outbox rows, the daily job, and how it renders in a real browser at 400 px."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import shutil
import subprocess
import tempfile
from collections import Counter
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import casefactory as cf
import pytest
from sqlalchemy import select

from intake.commands.cli import main
from intake.outbox import sender_identity
from intake.service import scheduled_jobs
from notifications import digest, outbox
from notifications.render import build_message
from store.models import Case, JobState, OutboxMessage, RawMessage
from store.words import MessageState

UTC = dt.UTC
STAFF = '[outbox]\nstaff = ["sekretariat@bl.dk", "Udvalg@bl.dk"]\n\n[schedule]\ndigest_hour_local = 7\n'
NOW = dt.datetime(2025, 7, 25, 12, 0, tzinfo=UTC)  # 14.00 in Copenhagen
WEB = "https://pulje.bl.dk"

DANISH_REASONS = {
    "subject matches no kind of mail in the pool": "Emnet ligner hverken en ansøgning eller en afrapportering",
    "documentation: handled by a person for now": "Kvartalsdokumentation: behandles manuelt indtil videre",
}


def _seed(s):
    """Cases in every state the digest cares about, plus triage and quarantined mail."""
    cf.make_case(s, "PSV-2025-0001", received=dt.datetime(2025, 7, 1, 8, tzinfo=UTC))
    cf.make_case(
        s, "PSV-2025-0002", status="mangler", received=dt.datetime(2025, 7, 20, 9, 15, tzinfo=UTC),
        fields=cf.application_fields(org="Boligforeningen Syd og Omegn af 1942 (afdelingerne 3, 4 og 12)",
                                     municipality="Høje-Taastrup"),
        problems=[cf.problem("cvr_check_digit", "cvr", "CVR-nummeret går ikke op; tjek de otte cifre."),
                  cf.problem("full_time", "salary_2026.hours", "Timetallet er under en fuld stilling.", "warning")],
    )
    cf.make_case(s, "PSV-2025-0003", status="for sent", received=dt.datetime(2025, 8, 1, 22, 5, tzinfo=UTC),
                 fields=cf.application_fields(org="Sene Boliger", municipality="Odense"),
                 problems=[cf.problem("deadline", None, "Ansøgningen kom efter fristen.")])
    cf.make_case(s, "PSV-2025-0004", kind="report", status="modtaget", fields={}, budget_={},
                 received=dt.datetime(2025, 7, 24, 10, tzinfo=UTC))
    cf.raw_message(s, received=dt.datetime(2025, 7, 22, 7, tzinfo=UTC), subject="Spørgsmål om puljen",
                   outcome="triage", reason="subject matches no kind of mail in the pool",
                   sender="lang.adresse.uden.mellemrum.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@kommune-eksempel.dk")
    cf.raw_message(s, received=dt.datetime(2025, 7, 23, 7, tzinfo=UTC), subject="Dokumentation Q1",
                   outcome="triage", reason="documentation: handled by a person for now")
    cf.raw_message(s, received=dt.datetime(2025, 7, 23, 8, tzinfo=UTC), subject="Ansøgning",
                   state=MessageState.QUARANTINED, attempts=3,
                   last_error="ValueError: " + "uforståelig-vedhæftning-" * 30)
    cf.raw_message(s, received=dt.datetime(2025, 7, 23, 9, tzinfo=UTC), subject="Autosvar",
                   outcome="ignored", reason="auto-reply")


class _Sections(HTMLParser):
    """Table rows per ``data-section``: each row's attributes, cell texts and list items."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, list[dict]] = {}
        self.tags: Counter = Counter()
        self.attrs_seen: list[tuple[str, str, str]] = []
        self._section = None
        self._row = None
        self._cell = None
        self._li = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        self.attrs_seen += [(tag, k, v or "") for k, v in attrs]
        if tag == "table":
            self._section = a.get("data-section")
            self.sections.setdefault(self._section, [])
        elif tag == "tr" and self._section:
            self._row = {"attrs": a, "cells": [], "items": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "li" and self._row is not None:
            self._li = {"attrs": a, "text": []}
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "li" and self._li is not None:
            self._row["items"].append((self._li["attrs"], " ".join("".join(self._li["text"]).split())))
            self._li = None
        elif tag == "tr" and self._row is not None:
            self.sections[self._section].append(self._row)
            self._row = None
        elif tag == "table":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._li is not None:
            self._li["text"].append(data)


def _parse(html: str) -> _Sections:
    p = _Sections()
    p.feed(html)
    p.close()
    return p


def _text_section(text: str, title: str) -> list[str]:
    """The lines under a heading of the plain text, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(title))
    out = []
    for ln in lines[start + 1:]:
        if not ln.strip():
            break
        out.append(ln)
    return out


def test_every_element_of_the_digest_matches_the_database(app):
    with app.context.factory() as s, s.begin():
        _seed(s)
    with app.context.factory() as s:
        d = digest.build(s, app.pool, NOW)
        cases = list(s.scalars(select(Case).order_by(Case.id)))
        triage = list(s.scalars(select(RawMessage).where(RawMessage.outcome == "triage").order_by(RawMessage.id)))
        quarantined = list(s.scalars(select(RawMessage).where(RawMessage.state == "quarantined")))
        page = _parse(d.html)

        assert d.subject == "Daglig oversigt: Pulje til sociale viceværter, 25. juli 2025"
        # counts by status: one row per status, a column per kind, totals last
        head, *rows, total = page.sections["status"]
        assert head["cells"] == ["Status", "Ansøgninger", "Afrapporteringer", "Dokumentation", "I alt"]
        by = Counter((c.status, c.kind) for c in cases)
        for r in rows:
            st = r["cells"][0]
            assert r["cells"][1:] == [str(by[(st, "application")]), str(by[(st, "report")]), "0",
                                      str(by[(st, "application")] + by[(st, "report")])]
        assert {st for st, _ in by} <= {r["cells"][0] for r in rows}
        assert total["cells"] == ["I alt", "3", "1", "0", "4"]
        text_status = _text_section(d.text, "SAGER PR. STATUS")
        assert "- mangler: 1 (ansøgninger 1, afrapporteringer 0, dokumentation 0)" in text_status
        assert text_status[-1] == "- i alt: 4 (ansøgninger 3, afrapporteringer 1, dokumentation 0)"

        # counts by municipality (applications)
        muni = Counter(c.municipality for c in cases if c.kind == "application")
        assert {r["cells"][0]: int(r["cells"][1]) for r in page.sections["municipality"][1:]} == muni
        assert sorted(_text_section(d.text, "ANSØGNINGER PR. KOMMUNE")) == sorted(
            f"- {m}: {n}" for m, n in muni.items())

        # first digest: every case is new, with its received time in Copenhagen time
        new = page.sections["new"][1:]
        assert [r["attrs"]["data-case"] for r in new] == [c.case_id for c in cases]
        for r, c in zip(new, cases, strict=True):
            assert r["cells"][0].splitlines()[0] == c.case_id
            local = c.received_at.astimezone(app.pool.timezone)
            assert r["cells"][0].splitlines()[-1] == f"{local:%d.%m.%Y} kl. {local:%H.%M}"
            assert r["cells"][2] == c.status
        assert "16.20" not in d.html  # 09:15 UTC is 11.15 in Copenhagen
        assert "- PSV-2025-0002: Boligforeningen Syd og Omegn af 1942 (afdelingerne 3, 4 og 12), Høje-Taastrup " \
               "| mangler | modtaget 20.07.2025 kl. 11.15 fra mette@example.dk" in _text_section(d.text, "NYE SAGER")

        # every case with problems, with each problem's Danish message and field
        with_problems = [c for c in cases if c.submissions[-1].problems]
        prob_rows = page.sections["problems"][1:]
        assert [r["attrs"]["data-case"] for r in prob_rows] == [c.case_id for c in with_problems]
        for r, c in zip(prob_rows, with_problems, strict=True):
            probs = c.submissions[-1].problems
            assert [a.get("data-field") for a, _ in r["items"]] == [p["field"] or "" for p in probs]
            for (_, item), p in zip(r["items"], probs, strict=True):
                assert p["message"] in item
                assert item.startswith("Advarsel:") == (p["severity"] == "warning")
        text_probs = _text_section(d.text, "SAGER MED PROBLEMER")
        assert "    * (advarsel) Timetallet er under en fuld stilling. [felt: salary_2026.hours]" in text_probs
        assert "    * Ansøgningen kom efter fristen." in text_probs

        # triage queue with reasons; ignored mail is not in it
        tri = page.sections["triage"][1:]
        assert [int(r["attrs"]["data-message"]) for r in tri] == [m.id for m in triage]
        for r, m in zip(tri, triage, strict=True):
            why = DANISH_REASONS.get(m.reason, m.reason)  # staff read routing's reason in Danish
            assert r["cells"][1] == f"{m.subject}\nÅrsag: {why}"
            assert m.sender in r["cells"][0]
        # quarantined mail with its last error (shortened)
        q = page.sections["quarantine"][1:]
        assert [int(r["attrs"]["data-message"]) for r in q] == [m.id for m in quarantined]
        error_line = q[0]["cells"][1].splitlines()[1]
        assert error_line.startswith("Fejl: ValueError: uforståelig-vedhæftning-") and error_line.endswith("…")
        assert len(error_line) <= 310

        # late arrivals
        late = [c.case_id for c in cases if c.status == "for sent"]
        assert [r["attrs"]["data-case"] for r in page.sections["late"][1:]] == late == ["PSV-2025-0003"]
        assert _text_section(d.text, "FOR SENT MODTAGET") == [
            "- PSV-2025-0003: Sene Boliger | modtaget 02.08.2025 kl. 00.05"]

        # the pool's coming dates in Danish, the next one first
        dl = page.sections["deadlines"]
        coming = sorted((v, k) for k, v in app.pool.dates.items() if v >= dt.date(2025, 7, 25))
        assert [r["attrs"]["data-date"] for r in dl] == [k for _, k in coming]
        assert dl[0]["cells"] == ["Ansøgningsfrist", "fredag 1. august 2025\nom 7 dage"]
        assert "- Frist for afrapportering: mandag 31. januar 2028 (om 920 dage)" in _text_section(
            d.text, "KOMMENDE DATOER")


def test_html_is_self_contained_and_mail_friendly(app):
    with app.context.factory() as s, s.begin():
        _seed(s)
    with app.context.factory() as s:
        html = digest.build(s, app.pool, NOW, WEB).html
        bare = digest.build(s, app.pool, NOW).html
    page = _parse(html)
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["style"] == 0
    assert page.tags["img"] == 0 and page.tags["iframe"] == 0
    for tag, attr, value in page.attrs_seen:
        assert not attr.startswith("on"), (tag, attr)
        assert attr not in ("src", "class"), (tag, attr)
        # links only into the staff web page
        assert attr != "href" or (tag == "a" and value.startswith(WEB + "/")), (tag, attr, value)
        assert "url(" not in value and "@import" not in value
    assert page.tags["a"] > 0
    assert "href" not in {attr for _, attr, _ in _parse(bare).attrs_seen}  # no address known: no links
    tables = [v for tag, k, v in page.attrs_seen if tag == "table" and k == "style"]
    assert tables and all("max-width:100%" in v and "table-layout:fixed" in v for v in tables)
    cells = [v for tag, k, v in page.attrs_seen if tag in ("td", "th") and k == "style"]
    assert all("word-break" in v or "text-align:right" in v for v in cells)


def test_empty_database_gives_a_digest_that_says_so(app):
    with app.context.factory() as s:
        d = digest.build(s, app.pool, NOW)
    assert "Ingen nye sager." in d.html and "Intet venter på en person." in d.html
    assert _text_section(d.text, "NYE SAGER") == ["(ingen nye sager)"]


def test_new_since_counts_from_the_last_sent_digest_and_out_alone_does_not_move_it(make_app, workdir, clock):
    app = make_app(STAFF)
    with app.context.factory() as s, s.begin():
        cf.make_case(s, "PSV-2025-0001", created=dt.datetime(2025, 7, 24, 6, tzinfo=UTC))
    clock.now = NOW
    with app.context.factory() as s, s.begin():
        digest.send(s, app.pool, clock(), app.settings.outbox.staff, sender_identity(app.settings, app.pool))
    with app.context.factory() as s, s.begin():
        cf.make_case(s, "PSV-2025-0002", created=NOW + dt.timedelta(hours=3))
    clock.advance(days=1)
    from intake.commands.staff import digest_command

    out = workdir / "preview" / "oversigt.html"
    assert digest_command(app, str(out), send=False) == 0
    page = _parse(out.read_text(encoding="utf-8"))
    assert [r["attrs"]["data-case"] for r in page.sections["new"][1:]] == ["PSV-2025-0002"]
    assert "Nye sager regnes fra sidste oversigt 25.07.2025 kl. 14.00." in out.with_name("oversigt.html.txt").read_text()
    with app.context.factory() as s:
        assert s.get(JobState, "digest").last_run_at == NOW  # the preview did not move the mark
    assert digest_command(app, None, send=True) == 0
    with app.context.factory() as s:
        assert s.get(JobState, "digest").last_run_at == clock.now
        assert digest.build(s, app.pool, clock()).data.new_cases == []


def test_send_puts_one_outbox_row_per_staff_address_once_a_day(make_app, workdir, clock, capsys):
    app = make_app(STAFF)
    with app.context.factory() as s, s.begin():
        _seed(s)
    clock.now = NOW
    from intake.commands.staff import digest_command

    assert digest_command(app, None, send=True) == 0
    assert digest_command(app, None, send=True) == 0  # same local day: nothing new
    assert "already queued today: sekretariat@bl.dk, Udvalg@bl.dk" in capsys.readouterr().out
    with app.context.factory() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        built = digest.build(s, app.pool, NOW)
    # --send sends at once (the outbox is drained), here as files: one row per address, sent
    assert [(r.dedupe_key, r.recipient, r.purpose, r.state) for r in rows] == [
        ("digest:2025-07-25:sekretariat@bl.dk", "sekretariat@bl.dk", "digest", "sent"),
        ("digest:2025-07-25:udvalg@bl.dk", "udvalg@bl.dk", "digest", "sent"),
    ]
    msg = email.message_from_bytes(rows[0].raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == rows[0].message_id and msg["To"] == "sekretariat@bl.dk"
    assert msg["Subject"] == built.subject
    # made by a timer, not an answer to a mail (RFC 3834); no out-of-office answers to it
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Reply-To"].addresses[0].addr_spec == app.pool.inbox
    second = email.message_from_bytes(rows[1].raw, policy=email.policy.default)
    assert second["To"] == "Udvalg@bl.dk"  # the address as staff wrote it in the settings
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "SAGER MED PROBLEMER (2)" in text and 'data-section="problems"' in html
    assert rows[0].message_id != rows[1].message_id


def test_staff_at_the_hourly_limit_still_get_the_digest(make_app, clock):
    """The per-recipient limit guards applicants from loops; the digest is one a day and must not be lost."""
    app = make_app(STAFF)
    clock.now = NOW
    us = sender_identity(app.settings, app.pool)
    limit = app.settings.outbox.max_per_recipient_per_hour
    with app.context.factory() as s, s.begin():
        for i in range(limit):
            rendered = build_message(sender=us, to_addr="sekretariat@bl.dk", to_name=None, subject=f"test {i}",
                                     text="test", html="<p>test</p>", now=NOW, auto_submitted="auto-replied")
            outbox.enqueue(s, dedupe_key=f"test:{i}", purpose="receipt", recipient="sekretariat@bl.dk",
                           rendered=rendered, now=NOW, limits=outbox.Limits(max_per_recipient_per_hour=limit))
        assert digest.send(s, app.pool, NOW, app.settings.outbox.staff, us) == ["sekretariat@bl.dk", "Udvalg@bl.dk"]
    with app.context.factory() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "digest")).all()
        assert sorted(r.state for r in rows) == ["pending", "pending"]


def test_send_without_staff_is_a_user_error(app, workdir, capsys):
    assert main(["--config", str(workdir / "settings.toml"), "digest", "--send"]) == 1
    assert "staff" in capsys.readouterr().err
    with app.context.factory() as s:
        assert s.get(JobState, "digest") is None


def test_cli_prints_the_text_by_default(app, workdir, capsys):
    assert main(["--config", str(workdir / "settings.toml"), "digest"]) == 0
    assert "KOMMENDE DATOER" in capsys.readouterr().out


def test_daily_job_sends_after_the_local_hour_once_per_day(make_app, clock):
    app = make_app(STAFF)
    jobs = {job_id: func for job_id, func, _ in scheduled_jobs(app)}
    clock.now = dt.datetime(2025, 7, 25, 4, 30, tzinfo=UTC)  # 06.30 in Copenhagen: too early
    jobs["digest"]()
    with app.context.factory() as s:
        assert s.scalars(select(OutboxMessage)).all() == []
    clock.now = dt.datetime(2025, 7, 25, 5, 1, tzinfo=UTC)  # 07.01: due
    jobs["digest"]()
    clock.advance(hours=5)  # later the same day: already sent
    jobs["digest"]()
    with app.context.factory() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 2
    clock.advance(days=1)  # the next day
    jobs["digest"]()
    with app.context.factory() as s:
        keys = sorted(s.scalars(select(OutboxMessage.dedupe_key)))
        assert keys == ["digest:2025-07-25:sekretariat@bl.dk", "digest:2025-07-25:udvalg@bl.dk",
                        "digest:2025-07-26:sekretariat@bl.dk", "digest:2025-07-26:udvalg@bl.dk"]


# --- a real browser at 400 px -------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The probe is the test's, never the product's. Headless Chromium lays out --dump-dom
# pages at least 500 px wide, so the digest goes into a 400 px iframe (srcdoc: same
# origin): an error hook first, the overflow measurement last, the result into the parent.
PROBE_HEAD = ("<script>window.__errors=[];window.onerror=function(m){window.__errors.push(String(m));};"
              "</script>")
PROBE_END = ("<script>(function(){var r={scrollWidth:document.documentElement.scrollWidth,"
             "innerWidth:window.innerWidth,errors:window.__errors};"
             "parent.document.getElementById('probe').textContent=JSON.stringify(r);})();</script>")
WRAPPER = ('<!DOCTYPE html><html><body style="margin:0"><pre id="probe">no result</pre>'
           '<iframe style="width:400px;height:1200px;border:0" srcdoc="{doc}"></iframe></body></html>')


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=400,1200", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; CI has it)")
def test_digest_fits_400_px_without_script_errors_in_chromium(app, workdir):
    with app.context.factory() as s, s.begin():
        _seed(s)
    with app.context.factory() as s:
        html = digest.build(s, app.pool, NOW).html
    tmp = Path(tempfile.mkdtemp(prefix="pulje-chromium-"))
    try:
        page = tmp / "digest.html"
        page.write_text(html, encoding="utf-8")
        probed = (html.replace("<head>", "<head>" + PROBE_HEAD, 1)
                  .replace("</body>", PROBE_END + "</body>", 1))
        wrapper = tmp / "probe.html"
        wrapper.write_text(WRAPPER.replace("{doc}", escape(probed, quote=True)), encoding="utf-8")
        done = _chromium(["--dump-dom", wrapper.as_uri()], tmp / "profile")
        dom = done.stdout
        assert '<pre id="probe">{' in dom, done.stderr[-2000:]
        result = json.loads(unescape(dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]))
        assert result["innerWidth"] == 400
        assert result["errors"] == []
        assert result["scrollWidth"] <= result["innerWidth"], result
        shot = tmp / "digest.png"
        _chromium([f"--screenshot={shot}", page.as_uri()], tmp / "profile")
        assert shot.stat().st_size > 10_000
        keep = Path(tempfile.gettempdir()) / "pulje-digest-400px.png"
        shutil.copyfile(shot, keep)  # for a person to look at
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
