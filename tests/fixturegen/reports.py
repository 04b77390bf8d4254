"""Final-report scenarios: each grantee's application (granted before the reports arrive)
and its report mail, plus a report from an organisation we do not know."""

from __future__ import annotations

import datetime as dt

import docbuilders as db

from fixturegen.applications import (
    CPH,
    App,
    Mail,
    Scenario,
    budget_att,
    budget_xlsx,
    expect,
    expected_budget,
    fill_form,
    form_att,
    mail,
    message_id,
    on,
    one_fte_budget,
)
from fixturegen.textpdf import prose, text_pdf
from intake.documents.samples import make_mail

SUBJECT = "Afrapportering pulje til sociale viceværter"
FILENAMES = {
    "ledelseserklaering": "Ledelseserklæring.pdf",
    "faglig_afrapportering": "Faglig afrapportering.pdf",
    "regnskab": "Regnskab 2026-2027.pdf",
    "revisionsberetning": "Revisionsberetning.pdf",
    "revisionsprotokollat": "Revisionsprotokollat.pdf",
}
PARTS = tuple(FILENAMES)  # the parts of a final report, in the pool file's order
HEADINGS = {
    "ledelseserklaering": "Ledelseserklæring",
    "faglig_afrapportering": "Faglig afrapportering",
    "regnskab": "Projektregnskab 2026-2027",
    "revisionsberetning": "Den uafhængige revisors erklæring",
    "revisionsprotokollat": "Revisionsprotokollat",
}


def part_pdf(part: str, app: App, *, lines: int = 12, extra: list[int] = (), cvr: bool = True) -> bytes:
    """One report document: its heading, the organisation (and its CVR) and some prose."""
    first = [HEADINGS[part], app.want["org_name"]]
    if cvr:
        first.append(f"CVR-nr. {app.want['cvr']}")
    return text_pdf([first + prose(lines), *[prose(n) for n in extra]])


def report_mail(app: App, files: list[tuple[str, bytes]], received: dt.datetime,
                sender: str | None = None, subject: str = SUBJECT, headers: dict | None = None) -> Mail:
    """The report mail, sent from the organisation (or from ``sender``)."""
    sender = sender or app.sender
    domain = sender.split("@", 1)[1]
    raw = make_mail(subject, sender=sender, body="Hermed vores afrapportering.",
                    attachments=[(n, d, "application/pdf") for n, d in files], date=received,
                    domain=domain, headers=headers)
    return Mail(raw, received, message_id(raw))


def _in(day: int, month: int = 1) -> dt.datetime:
    return dt.datetime(2028, month, day, 11, 0, tzinfo=CPH)


def report_scenarios(first_n: int) -> list[Scenario]:
    """At least 10 report scenarios, each with the granted application it belongs to."""
    out: list[Scenario] = []
    n = first_n

    def grantee(name: str) -> App:
        nonlocal n
        app = App(n, f"grantee_{name}")
        n += 1
        atts = [form_att(fill_form(app.typed)), budget_att(budget_xlsx(one_fte_budget()))]
        out.append(Scenario(app.name, "application", app.sender, [mail(app, atts, on(18))],
                            expect(app, problems=[], status="komplet",
                                   budget=expected_budget(one_fte_budget())), granted=True))
        return app

    def report(name: str, app: App | None, mails: list[Mail], problems: list[str], status: str,
               submissions: int = 1, sender: str | None = None) -> None:
        expected = {"kind": "report", "status": status, "problems": sorted(problems),
                    "submissions": submissions, "parent": app.name if app else None,
                    "triage": app is None}
        out.append(Scenario(f"report_{name}", "report", sender or (app.sender if app else ""),
                            mails, expected, parent=app.name if app else None, stage=1))

    def all_parts(app: App, **kw) -> list[tuple[str, bytes]]:
        return [(FILENAMES[p], part_pdf(p, app, **kw)) for p in PARTS]

    app = grantee("complete")
    report("complete", app, [report_mail(app, all_parts(app), _in(20))], [], "komplet")
    for part in PARTS:
        app = grantee(f"without_{part}")
        files = [f for f in all_parts(app) if f[0] != FILENAMES[part]]
        report(f"missing_{part}", app, [report_mail(app, files, _in(21))],
               ["report_part_missing"], "mangler")
    app = grantee("long_report")
    files = all_parts(app)
    files[1] = (FILENAMES["faglig_afrapportering"],
                part_pdf("faglig_afrapportering", app, lines=50, extra=[45]))
    report("professional_report_too_long", app, [report_mail(app, files, _in(22))],
           ["report_too_long"], "mangler")
    app = grantee("half_page_more")  # 1 page and a half-filled second page: allowed
    files = all_parts(app)
    files[1] = (FILENAMES["faglig_afrapportering"],
                part_pdf("faglig_afrapportering", app, lines=50, extra=[22]))
    report("one_and_a_half_pages", app, [report_mail(app, files, _in(22))], [], "komplet")
    app = grantee("generic_names")
    files = [(f"bilag{i}.pdf", part_pdf(p, app)) for i, p in enumerate(PARTS, 1)]
    report("classified_by_text", app, [report_mail(app, files, _in(23))], [], "komplet")
    app = grantee("sent_by_auditor")  # sent from the auditor's firm: found by the CVR in the text
    report("sent_by_auditor", app,
           [report_mail(app, all_parts(app), _in(24), sender="revisor@revisionsfirmaet-dk.dk")],
           [], "komplet", sender="revisor@revisionsfirmaet-dk.dk")
    app = grantee("no_cvr_in_text")  # no CVR anywhere: found by the sender's domain
    report("matched_by_domain", app,
           [report_mail(app, [(FILENAMES[p], part_pdf(p, app, cvr=False)) for p in PARTS], _in(24),
                        sender=f"direktion@{app.domain}")],
           [], "komplet", sender=f"direktion@{app.domain}")
    app = grantee("late_report")
    report("late", app, [report_mail(app, all_parts(app), _in(5, month=2))], ["report_late"],
           "for sent")
    app = grantee("completed_by_reply")
    first = report_mail(app, [f for f in all_parts(app) if f[0] != FILENAMES["revisionsprotokollat"]],
                        _in(10))
    second = report_mail(app, [(FILENAMES["revisionsprotokollat"], part_pdf("revisionsprotokollat", app))],
                         _in(12), subject="SV: " + SUBJECT,
                         headers={"In-Reply-To": first.message_id, "References": first.message_id})
    report("completed_by_reply", app, [first, second], [], "komplet", submissions=2)
    app = grantee("encrypted_part")  # the name still says what it is; staff open it
    files = all_parts(app)
    files[0] = (FILENAMES["ledelseserklaering"], db.encrypt_pdf(files[0][1]))
    report("with_encrypted_part", app, [report_mail(app, files, _in(26))],
           ["report_attachment_unreadable"], "komplet")
    stranger = App(n, "stranger")
    stranger.want["org_name"] = "Ukendt Boligforening"
    stranger.want["cvr"] = "10000009"
    report("unknown_organisation", None,
           [report_mail(stranger, all_parts(stranger, cvr=False), _in(25),
                        sender="kontor@ukendt-boligforening.dk")],
           [], "", sender="kontor@ukendt-boligforening.dk")
    return out
