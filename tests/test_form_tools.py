"""The form reader on a form whose every label has æ, ø or å, through every tool applicants use.

The official form has labels without those letters too; this one (a field map
made here, read by the same code) has none without, so Ghostscript's lost
letters hit every label. Filled by pdftk with the PDF field names written out
below; expected values as the applicant typed them (``fixturegen.toolset``).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from fixturegen import tools
from fixturegen.toolset import LONG, NORMAL, TEXT_FIELDS

from parsers.fieldmap import FieldMap, load_fieldmap
from parsers.form import read_application_form

# form key -> (PDF field name, printed label): every label with æ, ø or å.
FIELDS = {
    "org_name": ("ansoeger_navn", "Boligorganisationens navn (ansøger)"),
    "cvr": ("ansoeger_cvr", "CVR-nummer på ansøger"),
    "address": ("kontor_adresse", "Adresse på kontoret"),
    "contact_name": ("kontakt_navn", "Kontaktperson hos ansøger"),
    "contact_email": ("kontakt_mail", "E-mail til svar på ansøgningen"),
    "contact_phone": ("kontakt_tlf", "Telefon, hvor vi træffer jer"),
    "departments": ("afdelinger", "Boligafdeling(er) / boligområde"),
    "municipality": ("kommune", "Kommune, som området hører til"),
    "partners": ("partnere", "Samarbejdspartnere (også kommunen)"),
    "fte": ("aarsvaerk", "Antal sociale viceværter (årsværk)"),
    "hire_type": ("ansaettelse", "Nyansættelse / forstærkning"),
    "start_date": ("startdato", "Forventet ansættelsesdato"),
    "referrals": ("anvisninger", "Antal anvisninger (seneste år)"),
    "evictions": ("udsaettelser", "Antal udsættelser (seneste år)"),
    "rent_level": ("husleje", "Husleje pr. m² (kr./år)"),
    "collaboration": ("samarbejde", "Lokalt samarbejde – hvem gør hvad"),
    "organisation": ("organisering", "Organisering og forankring på stedet"),
    "target_group": ("maalgruppe", "Målgruppe og forventet effekt"),
    "amount_requested": ("beloeb", "Ansøgt beløb i alt (kr.)"),
    "signatory": ("underskriver", "Underskrift (navn på ansvarlig)"),
    "signed_date": ("dato", "Dato for underskrift på skemaet"),
}
CVR, EMAIL = "29190003", "søren@ærtebjerg-øst.dk"
# Values with æ, ø or å (qpdf's own drawing turns those letters into "?").
VALUES_WITH_AEOEAA = ("org_name", "address", "contact_name", "contact_email", "departments",
                      "municipality", "partners", "collaboration", "organisation", "target_group",
                      "signatory")


def _fieldmap() -> FieldMap:
    fm = load_fieldmap()
    fields = tuple(dataclasses.replace(f, pdf_field=FIELDS[f.key][0], label=FIELDS[f.key][1]) for f in fm.fields)
    assert all(set(label) & set("æøåÆØÅ") for _, label in FIELDS.values())
    return dataclasses.replace(fm, name="application-aeoeaa-test", fields=fields)


FM = _fieldmap()
MAP_TEXT = json.dumps(FIELDS, ensure_ascii=False, sort_keys=True)


def _typed(values: dict[str, tuple[str, object]]) -> dict[str, str]:
    """PDF field name -> as typed."""
    typed = {k: t for k, (t, _) in values.items()} | {"cvr": CVR, "contact_email": EMAIL}
    return {FIELDS[k][0]: text for k, text in typed.items()}


def _truth(values: dict[str, tuple[str, object]]) -> dict[str, object]:
    return {k: w for k, (_, w) in values.items()} | {"cvr": CVR, "contact_email": EMAIL}


def _template() -> bytes:
    from intake.documents.templates import application_form_pdf

    return application_form_pdf(FM)


def _expected(tool: str, long: bool) -> tuple[set[tuple[str, str | None]], set[str]]:
    """(problems, keys not exported) for a form made by ``tool``."""
    if tool in tools.SCANS:
        return {("form_ocr_layer", None)}, set(FIELDS)
    if tool == "gs":  # every label lost a letter: none can be trusted
        return {("form_text_unreadable", None)}, set(FIELDS)
    if tool == "pdftk":
        return set(), set()
    unread = set(TEXT_FIELDS if long else ()) | set(VALUES_WITH_AEOEAA if tool == "qpdf" else ())
    return {("field_needs_review", "hire_type")} | {("field_unreadable", k) for k in unread}, unread | {"hire_type"}


CASES = [(tool, long) for tool in tools.FORM_TOOLS for long in (False, True)
         if tool not in tools.SCANS or long == (tool == "ocr150")]


@pytest.fixture(scope="module")
def forms() -> dict[tuple[str, bool], bytes]:
    """Every tool's form, made on both cores and cached on disk between runs."""
    jobs = {case: (lambda tool=case[0], long=case[1]: tools.form_by(
        tool, _typed(LONG if long else NORMAL), _template, MAP_TEXT)) for case in CASES}
    tools.warm(list(jobs.values()))
    return {case: job() for case, job in jobs.items()}


def _same(want: object, got: object) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return got.split() == want.split()  # prose may wrap differently
    return got == want


def _score(reading, truth: dict[str, object]) -> dict[str, int]:
    """correct / missing-with-problem / wrong over every value the applicant typed."""
    got = {k: v["value"] for k, v in reading.values.items()}
    flagged = {p["field"] for p in reading.problems}
    form_level = any(p["field"] is None for p in reading.problems)
    score = {"correct": 0, "missing-with-problem": 0, "wrong": sum(1 for k in got if k not in truth)}
    for key, want in truth.items():
        if key not in got:
            score["missing-with-problem" if key in flagged or form_level else "wrong"] += 1
        else:
            score["correct" if _same(want, got[key]) else "wrong"] += 1
    return score


@pytest.mark.parametrize(("tool", "long"), CASES, ids=[f"{t}-{'long' if lg else 'fits'}" for t, lg in CASES])
def test_every_value_is_right_or_missing_with_a_problem(forms, tool, long):
    r = read_application_form(forms[tool, long], FM, max_pages=20)
    truth = _truth(LONG if long else NORMAL)
    problems, unread = _expected(tool, long)
    got = {k: v["value"] for k, v in r.values.items()}
    assert {(p["code"], p["field"]) for p in r.problems} == problems
    assert set(got) == set(truth) - unread
    for key in got:
        assert _same(truth[key], got[key]), key
    # "we could not read it" is never "you did not fill it in": every field was filled
    assert "field_missing" not in {p["code"] for p in r.problems}
    assert _score(r, truth)["wrong"] == 0


def test_the_whole_matrix_has_no_wrong_value(forms, capsys):
    tally = {"correct": 0, "missing-with-problem": 0, "wrong": 0}
    for (_tool, long), data in forms.items():
        score = _score(read_application_form(data, FM, max_pages=20), _truth(LONG if long else NORMAL))
        tally = {k: tally[k] + score[k] for k in tally}
    with capsys.disabled():
        print(f"\nform reader over every tool, æ/ø/å in every label: {tally['correct']} correct / "
              f"{tally['missing-with-problem']} missing-with-problem / {tally['wrong']} wrong")
    assert tally["correct"] > 0 and tally["wrong"] == 0
