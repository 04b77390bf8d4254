"""Every problem code intake can report has a Danish text, and every text can be filled."""

from __future__ import annotations

import pytest

from intake.extraction import texts_for
from intake.pool import load_pool
from intake.rules import texts as P
from parsers.codes import ProblemCode, finding
from parsers.fieldmap import load_fieldmap

ALL = sorted(ProblemCode)
TEXTS = texts_for(load_fieldmap(), load_pool("sociale-viceværter-2025"))


def test_the_readers_codes_were_found():
    assert {"form_scanned", "budget_encrypted", "field_malformed"} <= set(ALL)


@pytest.mark.parametrize("code", ALL)
def test_every_code_has_a_danish_text_and_a_severity(code):
    entry = P.catalogue()["problems"].get(code)
    assert entry is not None, f"{code} has no text in config/problems.da.toml"
    assert entry["severity"] in ("error", "warning")
    assert len(entry["text"]) > 40


@pytest.mark.parametrize("code", ALL)
def test_a_text_filled_with_its_params_leaves_no_braces(code):
    names = P.placeholders(P.catalogue()["problems"][code]["text"])
    message = TEXTS.render(finding(code, "cvr", **{n: "x" for n in names}))["message"]
    assert "{" not in message and "}" not in message


def test_labels_come_from_the_field_map():
    assert TEXTS.label("cvr") == "CVR-nummer"
    assert TEXTS.label("salary_2027.rate") == "Løn 2027"
    assert TEXTS.label("revisionsprotokollat") == "Revisionsprotokollat"


@pytest.mark.parametrize("code", ALL)
def test_an_amount_at_the_end_of_a_sentence_does_not_double_its_full_stop(code):
    names = P.placeholders(P.catalogue()["problems"][code]["text"])
    amounts = {"value", "limit", "expected", "requested"}  # the params that may carry "kr."
    message = TEXTS.render(finding(code, "cvr", **{n: "1.000,00 kr." if n in amounts else "x"
                                                    for n in names}))["message"]
    assert "kr.." not in message
