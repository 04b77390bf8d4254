"""Start-up validation: a data file that does not fit the code stops the worker with the file's name,
never a blank in a letter or a check that silently does nothing; and the rule listing for staff."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import jinja2
import pytest
from conftest import write_settings

from intake import validation
from intake.commands.cli import main
from intake.errors import ConfigError
from intake.extraction import texts_for
from intake.pool import load_pool, parse_pool
from intake.rules import texts
from intake.settings import load_settings
from notifications import render
from parsers import danish
from parsers.codes import finding
from parsers.fieldmap import FieldMapError, _parse, load_fieldmap

POOL_FILE = "sociale-viceværter-2025"


@pytest.fixture
def settings(workdir):
    return load_settings(write_settings(workdir, f"sqlite:///{workdir}/intake.db"))


@pytest.fixture
def pool():
    return load_pool(POOL_FILE)


def test_the_shipped_data_files_fit_the_code(settings, pool):
    validation.validate(settings, pool)


def _with_problems(monkeypatch, change):
    catalogue = copy.deepcopy(texts.catalogue())
    change(catalogue["problems"])
    monkeypatch.setattr(texts, "catalogue", lambda: catalogue)


def test_a_code_without_a_text_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p.pop("cvr_check_digit"))
    with pytest.raises(ConfigError, match=r"config/problems.da.toml: no text for problem code 'cvr_check_digit'"):
        validation.validate(settings, pool)


def test_a_text_without_a_code_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p.update(cvr_typo={"severity": "error", "text": "Noget er galt."}))
    with pytest.raises(ConfigError, match=r"\[problems.cvr_typo\]: no such problem code"):
        validation.validate(settings, pool)


def test_a_severity_that_is_neither_error_nor_warning_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p["late"].update(severity="fatal"))
    with pytest.raises(ConfigError, match=r"\[problems.late\]: severity must be one of error, warning"):
        validation.validate(settings, pool)


def test_a_placeholder_the_rule_does_not_give_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p["fte_not_positive"].update(text="Årsværk: {value} af {limit}."))
    with pytest.raises(ConfigError, match=r"\[problems.fte_not_positive\]: \{limit\} is not given by rule "
                                          r"FteNotPositive \(it gives: value\)"):
        validation.validate(settings, pool)


def test_a_placeholder_the_reader_does_not_give_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p["budget_corrupt"].update(text="Fejl i {cell}."))
    with pytest.raises(ConfigError, match=r"\[problems.budget_corrupt\]: \{cell\} is not given by its reader"):
        validation.validate(settings, pool)


def test_a_stray_brace_is_named(monkeypatch, settings, pool):
    _with_problems(monkeypatch, lambda p: p["form_empty"].update(text="Skemaet er tomt {."))
    with pytest.raises(ConfigError, match=r"\[problems.form_empty\]: text:"):
        validation.validate(settings, pool)


def test_a_file_type_without_a_danish_name_is_named(monkeypatch, settings, pool):
    catalogue = copy.deepcopy(texts.catalogue())
    del catalogue["types"]["heic"]
    monkeypatch.setattr(texts, "catalogue", lambda: catalogue)
    with pytest.raises(ConfigError, match=r"\[types\]: no Danish name for the file type 'heic'"):
        validation.validate(settings, pool)


def test_rendering_never_invents_a_text_or_leaves_a_blank(pool):
    t = texts_for(load_fieldmap(), pool)
    with pytest.raises(texts.TextError, match="unknown problem code 'no_such_code'"):
        t.render({"code": "no_such_code", "field": None, "params": {}})
    with pytest.raises(texts.TextError, match=r"needs \{filename\}"):
        t.render(finding("zip_not_opened", None))
    with pytest.raises(texts.TextError, match="no Danish label for the field 'shoe_size'"):
        t.render(finding("field_missing", "shoe_size"))
    assert t.render(finding("zip_not_opened", None, filename="Bilag.zip"))["message"].startswith(
        'Vi pakker ikke zip-filer ud, så indholdet af "Bilag.zip" er ikke læst.')


def _environment_with(name: str, source: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.DictLoader({name: source}),
                                                         jinja2.FunctionLoader(render._load)]),
                             undefined=jinja2.StrictUndefined)
    env.filters.update(render.environment().filters)
    return env


def test_a_reminder_template_using_an_unknown_name_is_named(monkeypatch, settings, pool):
    env = _environment_with("reminder-report-overdue.txt.j2", "Kære {{ name }}, frist {{ dedline }}")
    monkeypatch.setattr(validation, "environment", lambda: env)
    with pytest.raises(ConfigError, match=r"config/templates/reminder-report-overdue.txt.j2: "
                                          r"UndefinedError: 'dedline' is undefined"):
        validation.validate(settings, pool)


def test_a_receipt_template_using_an_unknown_attribute_is_named(monkeypatch, settings, pool):
    env = _environment_with("receipt-application.html.j2", "{% for p in problems %}{{ p.text }}{% endfor %}")
    monkeypatch.setattr(validation, "environment", lambda: env)
    with pytest.raises(ConfigError, match=r"config/templates/receipt-application.html.j2: UndefinedError"):
        validation.validate(settings, pool)


def test_a_missing_or_short_municipalities_file_is_named(monkeypatch, settings, pool):
    real = danish.municipalities()
    monkeypatch.setattr(danish, "municipalities",
                        lambda: danish.Municipalities(names=real.names[:97], aliases={}))
    with pytest.raises(ConfigError, match="config/municipalities.toml municipalities: expected 98 names, found 97"):
        validation.validate(settings, pool)

    def missing():
        raise FileNotFoundError("municipalities.toml")
    monkeypatch.setattr(danish, "municipalities", missing)
    with pytest.raises(ConfigError, match="config/municipalities.toml: cannot be read"):
        validation.validate(settings, pool)


def _pool_data() -> dict:
    text = resources.files("config").joinpath("pools", f"{POOL_FILE}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_report_parts_in_the_pool_file_are_validated():
    data = _pool_data()
    data["report"]["parts"][0]["keywords"] = ["Ledelseserklæring"]
    with pytest.raises(ConfigError, match=r"pool.toml \[\[report.parts\]\] #1 \(ledelseserklaering\): key "
                                          r"'keywords': write 'Ledelseserklæring' folded, as 'ledelseserklaering'"):
        parse_pool(data, "pool.toml")
    data = _pool_data()
    data["report"]["match_order"] = data["report"]["match_order"][:4]
    with pytest.raises(ConfigError, match=r"pool.toml \[report\]: match_order must name every part once"):
        parse_pool(data, "pool.toml")
    data = _pool_data()
    data["report"]["parts"][2]["missing"] = "regnskabet (højst {max_pages} sider)"
    with pytest.raises(ConfigError, match=r"\(regnskab\): key 'missing' may use only \{max_pages\}"):
        parse_pool(data, "pool.toml")
    data = _pool_data()
    data["report"]["parts"][2]["maks_sider"] = "2"
    with pytest.raises(ConfigError, match=r"\[\[report.parts\]\] #3: unknown key 'maks_sider'"):
        parse_pool(data, "pool.toml")


def test_the_page_limit_is_written_into_what_the_grantee_is_told(pool):
    part = pool.report.part("faglig_afrapportering")
    assert part.max_pages == 1.5
    assert part.missing == "den faglige afrapportering af resultaterne (højst 1½ side)"


def test_a_funded_year_without_its_budget_lines_is_named(settings, pool):
    import dataclasses

    from intake.pool import SalaryRate

    later = dataclasses.replace(pool, salary=(*pool.salary, SalaryRate(2028, pool.salary[1].hourly_rate,
                                                                        pool.salary[1].share)))
    with pytest.raises(ConfigError, match=r"config/fields/application-v1.toml \[budget\]: no line 'salary_2028'"):
        validation.validate(settings, later)


def test_field_map_hints_must_be_folded():
    text = resources.files("config").joinpath("fields", "application-v1.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["form"]["filename_hints"] = ["Ansøgning"]
    with pytest.raises(FieldMapError, match=r"config/fields/x.toml \[form\]: filename_hints: write 'Ansøgning' "
                                            r"folded, as 'ansoegning'"):
        _parse("x", data)


def test_the_worker_does_not_start_when_a_data_file_does_not_fit(monkeypatch, workdir):
    from intake.app import build_app

    _with_problems(monkeypatch, lambda p: p.pop("late"))
    with pytest.raises(ConfigError, match="no text for problem code 'late'"):
        build_app(load_settings(write_settings(workdir, f"sqlite:///{workdir}/intake.db")))


def test_pulje_intake_rules_lists_every_check_for_staff(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    entries = [line.split()[0] for line in out.splitlines() if "felt:" in line]
    assert len(entries) >= 25
    for code in ("late", "form_missing", "field_missing", "cvr_check_digit", "partners_no_municipality",
                 "rate_above_funded", "total_above_ceiling", "hours_below_norm", "report_part_missing",
                 "report_too_long"):
        assert code in entries
    assert "  cvr_check_digit  [error – fejl: skal rettes]  felt: cvr" in out
    assert "CVR-nummeret {raw} findes ikke: kontrolcifferet passer ikke." in out
    assert "hours_below_norm  [warning – advarsel: sekretariatet ser på det]" in out
    assert "form_scanned" in out  # what the readers report is listed too
    assert "27 regler" in out  # 25 for applications and reports, 2 for documentation
