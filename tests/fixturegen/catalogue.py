"""The fixture set: application and report scenarios, and writing them to a folder.

``generate(folder)`` writes ``<scenario>/NN.eml`` and ``<scenario>/expected.json``
for every scenario and returns the scenarios. ``expected.json`` holds the kind,
status, fields (values only), budget lines/total, sorted problem codes and the
number of submissions of the case the mails end in (reports: the application
scenario they belong to, or ``"triage": true``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import docbuilders as db

from fixturegen.applications import (
    CHOICE_KEYS,
    App,
    Scenario,
    big_pdf,
    budget_att,
    budget_xlsx,
    docx_bytes,
    expect,
    expected_budget,
    fill_form,
    foreign_workbook,
    form_att,
    full_budget,
    jpeg_bytes,
    mail,
    odt_bytes,
    on,
    one_fte_budget,
    poke_budget,
)
from fixturegen.reports import report_scenarios
from fixturegen.toolset import tool_scenarios

# Limits the fixture run's settings use (small, so a "too large" file stays small).
MAX_PDF_PAGES = 20
MAX_ATTACHMENT_BYTES = 300_000
SETTINGS = (f"[processing]\nmax_pdf_pages = {MAX_PDF_PAGES}\nmax_attachment_bytes = {MAX_ATTACHMENT_BYTES}\n"
            # the clock stands after the report deadline: receipts for every mail of the set
            "[outbox]\nmax_receipt_age_hours = 1000000\nmax_per_recipient_per_hour = 1000\n")

OK = "komplet"
MISSING = "mangler"
LATE = "for sent"
D = Decimal


def _printed(app: App) -> dict:
    """What a print gives: everything but the radio buttons."""
    return {k: v for k, v in app.want.items() if k not in CHOICE_KEYS}


class _Set:
    def __init__(self):
        self.items: list[Scenario] = []
        self.n = 0

    def app(self, name: str) -> App:
        self.n += 1
        return App(self.n, name)

    def add(self, app: App, mails, expected: dict) -> None:
        self.items.append(Scenario(app.name, "application", app.sender, mails, expected))

    def standard(self, name: str, *, edit=None, budget=None, problems=(), status=OK,
                 form=fill_form, budget_kwargs=None, want_budget=None, fields=None,
                 received=None) -> App:
        """A form and a budget in one mail, with the given edits and expectations."""
        app = self.app(name)
        if edit:
            edit(app)
        values = budget if budget is not None else one_fte_budget()
        atts = [form_att(form(app.typed)),
                budget_att(budget_xlsx(values, **(budget_kwargs or {})))]
        wanted = expected_budget(values) if want_budget is None else want_budget
        if fields is None:
            fields = dict(app.want) if form is fill_form else _printed(app)  # prints: no ticks
        self.add(app, [mail(app, atts, received or on(20))],
                 expect(app, problems=list(problems), status=status, budget=wanted, fields=fields))
        return app


def zip_of(files: list[tuple[str, bytes]]) -> bytes:
    """Files packed in a zip, as some applicants send them."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()


def print_form(values: dict) -> bytes:
    """The form "printed to PDF" (docbuilders), named here so it reads like the others."""
    return db.print_form(values)


def _scale(values: dict, fte: Decimal) -> dict:
    out = {}
    for key, v in values.items():
        out[key] = dict(v)
        if "hours" in v:
            out[key]["hours"] = v["hours"] * fte
        if key.startswith("activity"):
            out[key]["amount"] = v["amount"] * fte
    return out


def application_scenarios() -> list[Scenario]:
    """At least 40 application scenarios covering every form, budget and check."""
    s = _Set()
    needs_review = ["field_needs_review"]
    # --- the form in its many shapes -------------------------------------------------------
    s.standard("filled_form")
    s.standard("flattened_form", form=db.flatten_form, problems=needs_review)
    s.standard("printed_to_pdf", form=print_form, problems=needs_review)
    s.standard("drawn_text_layout", form=db.draw_form_text, problems=needs_review)
    s.standard("values_typed_on_top", form=db.annotate_form, problems=needs_review)
    s.standard("browser_print", form=lambda v: db.browser_print(db.print_form(v)), problems=needs_review)
    s.standard("real_print_to_pdf", form=lambda v: db.cairo_print(fill_form(v)), problems=needs_review)
    # OCR text is never a source of values (issue #13): handled like a scan
    s.standard("scan_with_ocr_text", form=lambda v: db.print_form(v, ocr_scan=True),
               problems=["form_ocr_layer"], status=MISSING, fields={})
    app = s.app("form_among_other_pdfs")  # names say nothing; the content tells the form
    s.add(app, [mail(app, [("dokument1.pdf", db.many_pages_pdf(2), "application/pdf"),
                           ("dokument2.pdf", fill_form(app.typed), "application/pdf"),
                           budget_att(budget_xlsx(one_fte_budget()))], on(21))],
          expect(app, problems=[], status=OK, budget=expected_budget(one_fte_budget())))
    app = s.app("glyphs_without_letters")
    s.add(app, [mail(app, [form_att(db.unmapped_text_pdf()),
                           budget_att(budget_xlsx(one_fte_budget()))], on(21))],
          expect(app, problems=["form_text_unreadable"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("scanned_form")
    s.add(app, [mail(app, [form_att(db.scan_pdf(2), "scan0001.pdf"),
                           budget_att(budget_xlsx(one_fte_budget()))], on(21))],
          expect(app, problems=["form_scanned"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("encrypted_form")
    s.add(app, [mail(app, [form_att(db.encrypt_pdf(fill_form(app.typed))),
                           budget_att(budget_xlsx(one_fte_budget()))], on(21))],
          expect(app, problems=["form_encrypted"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("owner_password_only_form")  # opens without a password: read normally
    s.add(app, [mail(app, [form_att(db.encrypt_pdf(fill_form(app.typed), user_password="")),
                           budget_att(budget_xlsx(one_fte_budget()))], on(21))],
          expect(app, problems=[], status=OK, budget=expected_budget(one_fte_budget())))
    for name, data, filename, mime in (
        ("word_form", docx_bytes(), "Ansøgning.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("odt_form", odt_bytes(), "Ansøgning.odt", "application/vnd.oasis.opendocument.text"),
        ("photo_of_form", jpeg_bytes(), "IMG_2041.jpg", "image/jpeg"),
    ):
        app = s.app(name)
        s.add(app, [mail(app, [(filename, data, mime),
                               budget_att(budget_xlsx(one_fte_budget()))], on(22))],
              expect(app, problems=["form_unsupported_format"], status=MISSING,
                     budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("corrupt_form")
    s.add(app, [mail(app, [form_att(fill_form(app.typed)[:900]),
                           budget_att(budget_xlsx(one_fte_budget()))], on(22))],
          expect(app, problems=["form_corrupt"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("form_with_too_many_pages")
    s.add(app, [mail(app, [form_att(db.many_pages_pdf(MAX_PDF_PAGES + 1)),
                           budget_att(budget_xlsx(one_fte_budget()))], on(22))],
          expect(app, problems=["form_too_many_pages"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("empty_form")
    s.add(app, [mail(app, [form_att(fill_form({})),
                           budget_att(budget_xlsx(one_fte_budget()))], on(22))],
          expect(app, problems=["form_empty"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("pdf_that_is_not_our_form")
    s.add(app, [mail(app, [form_att(db.many_pages_pdf(1), "Ansøgning.pdf"),
                           budget_att(budget_xlsx(one_fte_budget()))], on(22))],
          expect(app, problems=["form_not_recognised"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("form_too_large")
    s.add(app, [mail(app, [form_att(big_pdf(MAX_ATTACHMENT_BYTES + 1)),
                           budget_att(budget_xlsx(one_fte_budget()))], on(22))],
          expect(app, problems=["attachment_too_large", "form_missing"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    # --- missing documents ------------------------------------------------------------------
    app = s.app("missing_budget")
    s.add(app, [mail(app, [form_att(fill_form(app.typed))], on(23))],
          expect(app, problems=["budget_missing"], status=MISSING, budget={}))
    app = s.app("missing_form")
    s.add(app, [mail(app, [budget_att(budget_xlsx(one_fte_budget()))], on(23))],
          expect(app, problems=["form_missing"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    logo = ("image001.png", b"\x89PNG\r\n\x1a\n" + bytes(3000), "image/png")
    app = s.app("budget_and_signature_logo")
    s.add(app, [mail(app, [logo, budget_att(budget_xlsx(one_fte_budget()))], on(23))],
          expect(app, problems=["form_missing"], status=MISSING,
                 budget=expected_budget(one_fte_budget()), fields={}))
    app = s.app("signature_logo_beside_the_documents")
    s.add(app, [mail(app, [logo, form_att(fill_form(app.typed)),
                           budget_att(budget_xlsx(one_fte_budget()))], on(23))],
          expect(app, problems=[], status=OK, budget=expected_budget(one_fte_budget())))
    app = s.app("documents_in_a_zip")
    s.add(app, [mail(app, [("Ansøgning.zip", zip_of([("Ansøgningsskema.pdf", fill_form(app.typed)),
                                                    ("Budget.xlsx", budget_xlsx(one_fte_budget()))]),
                            "application/zip")], on(23))],
          expect(app, problems=["budget_missing", "form_missing", "zip_not_opened"], status=MISSING,
                 budget={}, fields={}))
    app = s.app("no_attachments_at_all")
    s.add(app, [mail(app, [], on(23))],
          expect(app, problems=["budget_missing", "form_missing"], status=MISSING, budget={},
                 fields={}))
    app = s.app("budget_as_pdf")
    s.add(app, [mail(app, [form_att(fill_form(app.typed)),
                           ("Budget.pdf", db.many_pages_pdf(1), "application/pdf")], on(23))],
          expect(app, problems=["budget_unsupported_format"], status=MISSING, budget={}))
    # --- the budget in its many shapes -----------------------------------------------------
    s.standard("budget_moved_rows", budget_kwargs={"moved_rows": 3})
    s.standard("budget_text_numbers", budget_kwargs={"text_numbers": True})
    s.standard("budget_cached_values", budget=full_budget(one_fte_budget()),
               budget_kwargs={"cached": True})
    s.standard("budget_labels_only", budget_kwargs={"names": "drop"})
    s.standard("budget_moved_rows_no_names", budget_kwargs={"moved_rows": 2, "names": "drop"})
    s.standard("budget_moved_rows_stale_names", budget_kwargs={"moved_rows": 2, "names": "stale"})
    s.standard("budget_cached_text_numbers", budget=full_budget(one_fte_budget()),
               budget_kwargs={"cached": True, "text_numbers": True})
    s.standard("budget_xlsm", budget_kwargs={"vba": True})
    for name, builder, filename, mime in (
        ("budget_xls", db.budget_xls, "Budget.xls", "application/vnd.ms-excel"),
        ("budget_ods", db.budget_ods, "Budget.ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ):
        app = s.app(name)
        s.add(app, [mail(app, [form_att(fill_form(app.typed)),
                               budget_att(builder(full_budget(one_fte_budget())), filename, mime)],
                    on(24))],
              expect(app, problems=[], status=OK, budget=expected_budget(one_fte_budget())))
    app = s.app("encrypted_budget")
    s.add(app, [mail(app, [form_att(fill_form(app.typed)),
                           budget_att(db.encrypt_office(budget_xlsx(one_fte_budget())))], on(24))],
          expect(app, problems=["budget_encrypted"], status=MISSING, budget={}))
    app = s.app("budget_of_our_own")
    s.add(app, [mail(app, [form_att(fill_form(app.typed)), budget_att(foreign_workbook())], on(24))],
          expect(app, problems=["budget_not_recognised"], status=MISSING, budget={}))
    app = s.app("budget_word_in_a_number")
    broken = poke_budget(budget_xlsx(one_fte_budget()), "salary_2026_rate", "mange")
    want = expected_budget(one_fte_budget())
    want["lines"][0].update(rate=None, amount=None)
    want["total"] = None
    s.add(app, [mail(app, [form_att(fill_form(app.typed)), budget_att(broken)], on(24))],
          # the amount and the total cannot be computed either: the reader names them too
          expect(app, problems=["budget_value_malformed", "budget_value_missing", "budget_value_missing"],
                 status=MISSING, budget=want))
    app = s.app("budget_empty_cell")
    broken = poke_budget(budget_xlsx(one_fte_budget()), "salary_2027_hours", None)
    want = expected_budget(one_fte_budget())
    want["lines"][1].update(hours=None, amount=None)
    want["total"] = None
    s.add(app, [mail(app, [form_att(fill_form(app.typed)), budget_att(broken)], on(24))],
          expect(app, problems=["budget_value_missing"] * 3, status=MISSING, budget=want))
    # --- form values in other Danish spellings -------------------------------------------
    s.standard("danish_formats", edit=lambda a: (
        a.set("cvr", f"{a.want['cvr'][:2]} {a.want['cvr'][2:4]} {a.want['cvr'][4:6]} {a.want['cvr'][6:]}",
              a.want["cvr"]),
        a.set("contact_phone", "12345678", "+45 12 34 56 78"),
        a.set("start_date", "01-01-2026", "2026-01-01"),
        a.set("signed_date", "1.8.2025", "2025-08-01"),
        a.set("amount_requested", "1.012.497,75 kr.", "1012497.75"),
        a.set("municipality", "Høje-Taastrup Kommune", "Høje-Taastrup"),
        a.set("partners", "Høje-Taastrup Kommune og Boligselskabet Sjælland",
              "Høje-Taastrup Kommune og Boligselskabet Sjælland")))
    s.standard("danish_letters_everywhere", edit=lambda a: (
        a.set("org_name", "Æblehavens Boligforening – Øster Åby", "Æblehavens Boligforening – Øster Åby"),
        a.set("contact_name", "Søren Ærbø Østergård", "Søren Ærbø Østergård"),
        a.set("departments", "Afd. Ærtebjerghave, Øresundsvej og Ålekistevej",
              "Afd. Ærtebjerghave, Øresundsvej og Ålekistevej"),
        a.set("municipality", "Ærø", "Ærø"),
        a.set("partners", "Ærø Kommune; Læsø Kommune", "Ærø Kommune; Læsø Kommune"),
        a.set("address", "Østergade 5, 5970 Ærøskøbing", "Østergade 5, 5970 Ærøskøbing"),
        a.set("signatory", "Åse Ødegård", "Åse Ødegård")))
    s.standard("printed_danish_letters", form=print_form, problems=needs_review, edit=lambda a: (
        a.set("org_name", "Boligforeningen Ørnereden på Ærø", "Boligforeningen Ørnereden på Ærø"),
        a.set("municipality", "Ærø", "Ærø"),
        a.set("partners", "Ærø Kommune", "Ærø Kommune")))
    long_text = ("Vi holder et fast møde hver måned med kommunens bostøtte, hjemløseenheden og "
                 "afdelingsbestyrelsen.\rDer aftales en plan for hver ny beboer, og den sociale "
                 "vicevært følger op i de første måneder.\rØkonomien følges af driftschefen.")

    def empty_optionals(a):
        a.set("address", None)
        a.set("contact_phone", None)
        a.set("rent_level", None)
        a.set("signed_date", None)

    s.standard("printed_empty_optional_fields", form=print_form, problems=needs_review,
               edit=empty_optionals)
    s.standard("drawn_empty_optional_fields", form=db.draw_form_text, problems=needs_review,
               edit=empty_optionals)
    s.standard("filled_long_texts_with_acrobat_breaks", edit=lambda a: a.set(
        "collaboration", long_text, long_text.replace("\r", "\n")))
    s.standard("printed_long_texts", form=print_form, problems=needs_review, edit=lambda a: a.set(
        "collaboration", long_text, long_text.replace("\r", "\n")))
    s.standard("flattened_required_field_empty", form=db.flatten_form, status=MISSING,
               problems=["field_missing", "field_needs_review"],
               edit=lambda a: a.set("departments", None))
    s.standard("reinforcement", edit=lambda a: a.set("hire_type", "Forstaerkning", "forstaerkning"))
    s.standard("two_caretakers", budget=_scale(one_fte_budget(), D(2)), edit=lambda a: (
        a.set("fte", "2", "2"), a.set("amount_requested", "2.024.995,50", "2024995.50")))
    s.standard("one_and_a_half_caretakers", budget=_scale(one_fte_budget(), D("1.5")), edit=lambda a: (
        a.set("fte", "1,5", "1.5"), a.set("amount_requested", "1.518.746,63", "1518746.63")))
    # --- every check -----------------------------------------------------------------------
    s.standard("late_arrival", received=on(2, 0, 5, month=8), problems=["late"], status=LATE)
    s.standard("last_second_on_time", received=on(1, 23, 59, month=8))
    s.standard("required_field_empty", problems=["field_missing"], status=MISSING,
               edit=lambda a: a.set("contact_name", None))
    s.standard("cvr_check_digit", problems=["cvr_check_digit"], status=MISSING,
               edit=lambda a: a.set("cvr", a.want["cvr"][:7] + str((int(a.want["cvr"][7]) + 1) % 10)))
    s.standard("unknown_municipality", problems=["municipality_unknown"], status=MISSING,
               edit=lambda a: a.set("municipality", "Gotham Kommune"))
    s.standard("malformed_email", problems=["field_malformed"], status=MISSING,
               edit=lambda a: a.set("contact_email", "mette(at)boligselskab.dk"))
    s.standard("malformed_date", problems=["field_malformed"], status=MISSING,
               edit=lambda a: a.set("start_date", "snarest muligt"))
    s.standard("no_municipality_partner", problems=["partners_no_municipality"], status=MISSING,
               edit=lambda a: a.set("partners", "Boligforeningen Østbo og Café Ølstykke",
                                    "Boligforeningen Østbo og Café Ølstykke"))
    b = one_fte_budget()
    b["salary_2026"]["rate"] = D("350")
    s.standard("rate_above_funded", budget=b, problems=["rate_above_funded", "total_above_ceiling",
                                                        "total_differs_from_form"], status=MISSING)
    b = one_fte_budget()
    b["salary_2027"]["hours"] = D("1700")
    s.standard("hours_above_norm", budget=b, problems=["hours_above_norm", "total_above_ceiling"],
               status=MISSING, edit=lambda a: a.set("amount_requested", "1.025.541,00", "1025541.00"))
    b = one_fte_budget()
    b["salary_2027"]["share"] = D("0.80")
    s.standard("share_above_funded", budget=b, problems=["share_above_funded", "total_above_ceiling"],
               status=MISSING, edit=lambda a: a.set("amount_requested", "1.040.613,20", "1040613.20"))
    b = one_fte_budget()
    b["activity_2027"]["amount"] = D("25000")
    s.standard("activity_above_max", budget=b, problems=["activity_above_max", "total_above_ceiling"],
               status=MISSING, edit=lambda a: a.set("amount_requested", "1.017.497,75", "1017497.75"))
    b = _scale(one_fte_budget(), D(2))
    # any budget above the ceiling has a line above its limit too
    s.standard("total_above_ceiling", budget=b, status=MISSING,
               problems=["activity_above_max", "activity_above_max", "hours_above_norm",
                         "hours_above_norm", "total_above_ceiling"],
               edit=lambda a: a.set("amount_requested", "2.024.995,50", "2024995.50"))
    s.standard("amount_differs_from_budget", problems=["total_differs_from_form"], status=MISSING,
               edit=lambda a: a.set("amount_requested", "1.000.000,00", "1000000.00"))
    b = one_fte_budget()
    b["salary_2026"]["amount"] = D("500000")
    s.standard("line_arithmetic", budget=b, budget_kwargs={"cached": True},
               problems=["line_arithmetic", "total_differs_from_form"], status=MISSING)
    b = one_fte_budget()
    b["total"] = {"amount": D("1000000")}
    s.standard("total_arithmetic", budget=b, budget_kwargs={"cached": True},
               problems=["total_arithmetic", "total_differs_from_form"], status=MISSING)
    b = one_fte_budget()
    b["salary_2026"]["hours"] = D("1200")
    b["salary_2027"]["hours"] = D("1200")
    s.standard("part_time_hours", budget=b, problems=["hours_below_norm", "hours_below_norm"],
               edit=lambda a: a.set("amount_requested", "747.700,00", "747700.00"))
    s.standard("zero_caretakers", problems=["fte_not_positive"], status=MISSING,
               edit=lambda a: a.set("fte", "0", "0"))
    b = one_fte_budget()
    b["salary_2026"]["rate"] = D("400")
    b["activity_2026"]["amount"] = D("30000")
    s.standard("several_wrong_at_once", budget=b, status=MISSING, edit=lambda a: (
        a.set("cvr", a.want["cvr"][:7] + str((int(a.want["cvr"][7]) + 1) % 10)),
        a.set("municipality", "Atlantis"),
        a.set("partners", "Ingen endnu", "Ingen endnu"),
        a.set("contact_name", None)),
        problems=["activity_above_max", "cvr_check_digit", "field_missing", "municipality_unknown",
                  "partners_no_municipality", "rate_above_funded", "total_above_ceiling",
                  "total_differs_from_form"])
    # --- later mail from the same organisation ---------------------------------------------
    app = s.app("resubmission")
    first = mail(app, [form_att(fill_form({**app.typed, "cvr": app.typed["cvr"]}))], on(10))
    second = mail(app, [form_att(fill_form(app.typed)),
                        budget_att(budget_xlsx(one_fte_budget()))], on(15))
    s.add(app, [first, second], expect(app, problems=[], status=OK, submissions=2,
                                       budget=expected_budget(one_fte_budget())))
    app = s.app("resubmission_after_scan")  # first a scan (no CVR), then the real form
    first = mail(app, [form_att(db.scan_pdf()), budget_att(budget_xlsx(one_fte_budget()))], on(11))
    second = mail(app, [form_att(fill_form(app.typed)),
                        budget_att(budget_xlsx(one_fte_budget()))], on(16))
    s.add(app, [first, second], expect(app, problems=[], status=OK, submissions=2,
                                       budget=expected_budget(one_fte_budget())))
    app = s.app("reply_with_missing_budget")  # a reply to our receipt carries the budget
    first = mail(app, [form_att(fill_form(app.typed))], on(12))
    second = mail(app, [budget_att(budget_xlsx(one_fte_budget()))], on(14),
                  subject="SV: " + "Ansøgning – Pulje til sociale viceværter",
                  headers={"In-Reply-To": first.message_id, "References": first.message_id})
    s.add(app, [first, second], expect(app, problems=[], status=OK, submissions=2,
                                       budget=expected_budget(one_fte_budget())))
    return s.items


def all_scenarios() -> list[Scenario]:
    """Applications, then reports (some of which need a granted application first)."""
    apps = application_scenarios()
    apps += tool_scenarios(len(apps) + 1)
    return apps + report_scenarios(len(apps) + 1)


def generate(folder: Path) -> list[Scenario]:
    """Write every scenario's mails and expected.json under ``folder``; return the scenarios."""
    scenarios = all_scenarios()
    for sc in scenarios:
        d = folder / sc.name
        d.mkdir(parents=True, exist_ok=True)
        for i, m in enumerate(sc.mails, 1):
            (d / f"{i:02d}.eml").write_bytes(m.raw)
        (d / "expected.json").write_text(
            json.dumps(sc.expected, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return scenarios
