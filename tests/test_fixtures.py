"""The generated fixture set through the real pipeline: every case exactly as expected,
and no extracted value ever wrong (a value may be missing, with a problem saying why)."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from conftest import DB_KIND, PG_URL, write_settings
from fixturegen.catalogue import SETTINGS, generate
from fixturegen.run import budget_view, fixed_clock, run_set, snapshot
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from intake.cases.reprocess import reprocess
from parsers.fieldmap import load_fieldmap
from store.models import Case, OutboxMessage

_RUN: dict[str, str] = {}  # the fixture run's database URL, for tests that read it back

FORM_LEVEL = ("form_", "budget_missing", "budget_unsupported_format", "budget_encrypted")


@pytest.fixture(scope="session")
def fixture_run():
    """Generate the set once per session, run it through a fresh database, return both."""
    from intake.app import build_app
    from intake.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="pulje-fixtures-"))
    schema = None
    if DB_KIND == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:16]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{folder}/intake.db"
    app = None
    try:
        scenarios = generate(folder / "mail")
        app = build_app(load_settings(write_settings(folder, url, SETTINGS)), now=fixed_clock)
        _RUN["url"] = url
        results = run_set(app.context, scenarios)
        before = snapshot(app.context, scenarios)
        reprocess(app.context, [])
        after = snapshot(app.context, scenarios)
        yield folder / "mail", scenarios, results, (before, after)
    finally:
        if app is not None:
            app.engine.dispose()
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _text_keys() -> set[str]:
    return {f.key for f in load_fieldmap().fields if f.type == "text"}


def _same(key: str, a, b) -> bool:
    if key in _text_keys() and isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())  # prose may wrap differently
    return a == b


def _differences(expected: dict, got: dict) -> list[str]:
    diffs = []
    if got.get("errors"):
        diffs.append(f"processing failed: {got['errors']}")
    if expected.get("triage"):
        if not got.get("triage"):
            diffs.append(f"expected triage, got {got.get('case_id')} ({got.get('outcomes')})")
        return diffs
    if got.get("triage") or "status" not in got:
        return diffs + [f"expected a case, got {got.get('outcomes')}"]
    for key in ("kind", "status", "problems", "submissions"):
        if expected[key] != got[key]:
            diffs.append(f"{key}: expected {expected[key]!r}, got {got[key]!r}")
    if "problem_fields" in expected and expected["problem_fields"] != got["problem_pairs"]:
        diffs.append(f"problems by field: expected {expected['problem_fields']!r}, got {got['problem_pairs']!r}")
    if expected["kind"] == "application":
        want, have = expected["fields"], got["fields"]
        for key in sorted(set(want) | set(have)):
            if not _same(key, want.get(key), have.get(key)):
                diffs.append(f"field {key}: expected {want.get(key)!r}, got {have.get(key)!r}")
        if budget_view(expected["budget"]) != budget_view(got["budget"]):
            diffs.append(f"budget: expected {budget_view(expected['budget'])}, "
                         f"got {budget_view(got['budget'])}")
    elif got["parent_case"] != got.get("expected_parent_case"):
        diffs.append(f"report joined {got['parent_case']}, expected {got.get('expected_parent_case')}")
    return diffs


def test_the_set_is_big_enough_and_written_beside_each_mail(fixture_run):
    folder, scenarios, _, _ = fixture_run
    applications = [s for s in scenarios if s.kind == "application"]
    reports = [s for s in scenarios if s.kind == "report"]
    assert len(applications) >= 40 and len(reports) >= 10
    for sc in scenarios:
        saved = json.loads((folder / sc.name / "expected.json").read_text(encoding="utf-8"))
        assert saved == sc.expected
        assert len(list((folder / sc.name).glob("*.eml"))) == len(sc.mails)


def test_every_case_is_exactly_as_expected(fixture_run):
    _, scenarios, results, _ = fixture_run
    report = {sc.name: d for sc in scenarios if (d := _differences(sc.expected, results[sc.name]))}
    assert report == {}, "\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(d) for name, d in report.items())


def test_no_extracted_value_is_ever_wrong(fixture_run, capsys):
    """A value intake gives equals the expected one; a missing value has a problem that says why.

    Over every value an applicant typed (``truth``, else the expected fields) the run
    prints how many intake gave correctly, how many it left missing with a problem,
    and how many it got wrong: that last number must be 0."""
    _, scenarios, results, _ = fixture_run
    wrong = []
    tally = {"correct": 0, "missing-with-problem": 0, "wrong": 0}
    for sc in scenarios:
        got = results[sc.name]
        if sc.kind != "application" or "fields" not in got:
            continue
        want = sc.expected["fields"]
        truth = sc.expected.get("truth", want)
        for key, value in got["fields"].items():
            if key not in want or not _same(key, want[key], value):
                wrong.append(f"{sc.name}: {key} = {value!r}, expected {want.get(key)!r}")
            if key not in truth or not _same(key, truth[key], value):
                tally["wrong"] += 1
        form_problem = any(c.startswith(FORM_LEVEL) for c in got["problems"])
        for key in set(want) - set(got["fields"]):
            if key not in got["problem_fields"] and not form_problem:
                wrong.append(f"{sc.name}: {key} missing without a problem")
        for key in truth:
            if key in got["fields"]:
                tally["correct"] += _same(key, truth[key], got["fields"][key])
            elif key in got["problem_fields"] or form_problem:
                tally["missing-with-problem"] += 1
            else:
                tally["wrong"] += 1
        have_budget = budget_view(got["budget"])
        want_budget = budget_view(sc.expected["budget"])
        if have_budget:
            want_lines = {line["key"]: line for line in want_budget.get("lines", [])}
            for line in have_budget["lines"]:
                for k, v in line.items():
                    if v is not None and want_lines.get(line["key"], {}).get(k) != v:
                        wrong.append(f"{sc.name}: budget {line['key']}.{k} = {v}")
            if have_budget["total"] is not None and have_budget["total"] != want_budget.get("total"):
                wrong.append(f"{sc.name}: budget total = {have_budget['total']}")
    with capsys.disabled():
        print(f"\nform values over the fixture set: {tally['correct']} correct / "
              f"{tally['missing-with-problem']} missing-with-problem / {tally['wrong']} wrong")
    assert tally["wrong"] == 0
    assert wrong == []


def test_every_check_is_triggered_somewhere_in_the_set(fixture_run):
    from intake.rules.registry import all_rules

    _, scenarios, _, _ = fixture_run
    checks = {rule.code for rule in all_rules()}
    # email_invalid guards values that reach checks unnormalised; the form reader
    # already reports a malformed address as field_malformed
    checks -= {"email_invalid"}
    # a quarter's documentation needs a granted application first: tests/test_documentation.py
    # triggers both of its checks through the real pipeline
    checks -= {"documentation_part_missing", "documentation_quarter_unclear"}
    seen = {code for sc in scenarios for code in sc.expected.get("problems", [])}
    assert checks - seen == set()


def test_reprocessing_the_whole_set_changes_nothing(fixture_run):
    """``reprocess`` reads every stored mail again: no new case, submission, value or status."""
    _, _, _, (before, after) = fixture_run
    assert after["submissions"] == before["submissions"]
    assert after["messages"] == before["messages"]
    assert after["cases"] == before["cases"]


def _text_of(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return " ".join(msg.get_body(preferencelist=("plain",)).get_content().split())


def test_every_application_gets_exactly_one_receipt_naming_its_problems(fixture_run):
    _folder, _scenarios, results, _ = fixture_run
    app_cases = [r["case_id"] for r in results.values() if r.get("kind") == "application"]
    assert len(app_cases) >= 40
    engine = create_engine(_RUN["url"])
    try:
        with Session(engine) as s:
            for case_id in app_cases:
                case = s.scalar(select(Case).where(Case.case_id == case_id))
                receipts = list(s.scalars(select(OutboxMessage).where(
                    OutboxMessage.case_pk == case.id, OutboxMessage.purpose == "receipt")))
                # one receipt for each mail that brought a submission, none twice
                assert sorted(r.message_pk for r in receipts) == sorted(
                    sub.message_pk for sub in case.submissions), case_id
                current = next(sub for sub in reversed(case.submissions) if sub.current)
                receipt = next(r for r in receipts if r.message_pk == current.message_pk)
                assert f"[{case_id}]" in receipt.subject
                text = _text_of(receipt.raw)
                if case.status == "for sent":  # a late application is told that, and nothing else
                    assert "kan ansøgningen desværre ikke komme i betragtning" in text, case_id
                    assert "skal rettes" not in text and "SKAL I RETTE" not in text, case_id
                    continue
                for problem in current.problems:
                    assert " ".join(problem["message"].split()) in text, (case_id, problem["code"])
    finally:
        engine.dispose()
