"""Every problem code intake can report has a Danish text, and every text can be filled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import intake
import parsers.budget
import parsers.form
from intake.rules import texts as P
from parsers.report import PARTS


def _docstring_codes(module) -> set[str]:
    """Codes listed in a reader's docstring table (first column)."""
    return set(re.findall(r"^([a-z][a-z_]+)\s{2,}", module.__doc__, re.M)) - {"code"}


def _rendered_codes() -> set[str]:
    """Codes our own modules render (``P.render("code"`` and ``"code": "..."`` literals)."""
    codes = set()
    for path in Path(intake.__file__).parent.rglob("*.py"):
        codes |= set(re.findall(r'render\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
        codes |= set(re.findall(r'"code": "([a-z_]+)"', path.read_text(encoding="utf-8")))
    report = Path(parsers.budget.__file__).with_name("report.py").read_text(encoding="utf-8")
    codes |= set(re.findall(r'"code": "([a-z_]+)"', report))
    codes |= {f"report_missing_{p}" for p in PARTS}
    codes |= {"late", "report_late"}
    return codes


ALL = sorted(_docstring_codes(parsers.form) | _docstring_codes(parsers.budget) | _rendered_codes())


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
    names = re.findall(r"{(\w+)}", P.catalogue()["problems"][code]["text"])
    message = P.render(code, "cvr", {n: "x" for n in names})["message"]
    assert "{" not in message and "}" not in message


def test_labels_come_from_the_field_map():
    assert P.label("cvr") == "CVR-nummer"
    assert P.label("salary_2027.rate") == "Løn 2027"
    assert P.label("revisionsprotokollat") == "Revisionsprotokollat"


@pytest.mark.parametrize("code", ALL)
def test_an_amount_at_the_end_of_a_sentence_does_not_double_its_full_stop(code):
    names = re.findall(r"{(\w+)}", P.catalogue()["problems"][code]["text"])
    amounts = {"value", "limit", "expected", "requested"}  # the params that may carry "kr."
    message = P.render(code, "cvr", {n: "1.000,00 kr." if n in amounts else "x" for n in names})["message"]
    assert "kr.." not in message
