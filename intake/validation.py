"""Start-up validation: the data files fit the code, or the worker does not start.

``build_app`` calls :func:`validate` (and a test does): the problem texts
against :class:`~parsers.codes.ProblemCode` and the params each rule and reader
gives, the Jinja templates of the receipts and of every reminder of the pool
(rendered with ``StrictUndefined`` on a sample case), the municipalities, the
field maps and the pool files. Any misfit is a :class:`~intake.errors.ConfigError`
naming the file (and the key), never a blank in a letter or a check that
silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from importlib import resources
from typing import Any

import jinja2

from intake.errors import ConfigError
from intake.outbox import receipt_setup, reminder_rules
from intake.pool import Pool, load_pool
from intake.rules import registry, texts
from intake.settings import Settings
from notifications import documentation, letters, receipts, reminders
from notifications.render import environment
from parsers import danish, filetype
from parsers.codes import READER_PARAMS, ProblemCode
from parsers.fieldmap import DEFAULT as DEFAULT_FIELDMAP
from parsers.fieldmap import FieldMap, FieldMapError, load_fieldmap
from store.models import Attachment, Case, Submission
from store.words import AttachmentRole, CaseStatus, LetterKind, MailKind

MUNICIPALITIES = 98
_TEXTS = texts.SOURCE


def validate(settings: Settings, pool: Pool) -> None:
    """Check every data file the worker reads against the code; ConfigError on the first misfit."""
    fieldmap = check_field_maps()
    check_pool_files()
    check_pool_against_field_map(pool, fieldmap)
    check_problem_texts(pool, fieldmap)
    check_municipalities()
    check_templates(settings, pool)


def _producers() -> dict[ProblemCode, list[tuple[str, frozenset[str]]]]:
    """Who gives each code, and with which params: the rules, then the readers."""
    out: dict[ProblemCode, list[tuple[str, frozenset[str]]]] = {}
    for rule in registry.all_rules():
        out.setdefault(rule.code, []).append((f"rule {type(rule).__name__}", rule.params))
    for code, params in READER_PARAMS.items():
        out.setdefault(code, []).append(("its reader", params))
    return out


def check_problem_texts(pool: Pool, fieldmap: FieldMap) -> None:
    """Every code has a severity and a text; no text without a code; every placeholder is given."""
    try:
        catalogue = texts.catalogue()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{_TEXTS}: cannot be read: {exc}") from None
    table = catalogue.get("problems")
    if not isinstance(table, dict):
        raise ConfigError(f"{_TEXTS}: no [problems] table")
    codes = {str(c) for c in ProblemCode}
    for key in sorted(set(table) - codes):
        raise ConfigError(f"{_TEXTS} [problems.{key}]: no such problem code (parsers/codes.py)")
    producers = _producers()
    for code in ProblemCode:
        try:
            entry = texts.problem_text(code)
            names = texts.placeholders(entry.text)
        except texts.TextError as exc:
            raise ConfigError(str(exc)) from None
        except ValueError as exc:
            raise ConfigError(f"{_TEXTS} [problems.{code}]: text: {exc}") from None
        if code not in producers:
            raise ConfigError(f"{_TEXTS} [problems.{code}]: no rule or reader gives this code")
        for who, params in producers[code]:
            extra = names - params - {"label"}
            if extra:
                raise ConfigError(f"{_TEXTS} [problems.{code}]: {{{sorted(extra)[0]}}} is not given by "
                                  f"{who} (it gives: {', '.join(sorted(params)) or 'nothing'})")
    types = catalogue.get("types", {})
    for kind in filetype.ALL_TYPES:
        if not isinstance(types.get(kind), str):
            raise ConfigError(f"{_TEXTS} [types]: no Danish name for the file type '{kind}'")
    labels = texts.field_labels(fieldmap, pool.report, pool.documentation.spec if pool.documentation else None)
    for rule in registry.all_rules():
        if rule.field and not rule.field.startswith("<") and rule.field not in labels:
            raise ConfigError(f"config/fields/{fieldmap.name}.toml: no field '{rule.field}' "
                              f"(rule {type(rule).__name__} checks it)")


def check_pool_against_field_map(pool: Pool, fieldmap: FieldMap) -> None:
    """Each funded year has its salary and activity lines in the budget, so no rule is skipped."""
    lines = {line.key for line in fieldmap.budget.lines}
    for rate in pool.salary:
        for key in (f"salary_{rate.year}", f"activity_{rate.year}"):
            if key not in lines:
                raise ConfigError(f"config/fields/{fieldmap.name}.toml [budget]: no line '{key}' for "
                                  f"the year {rate.year} of {pool.source} [[rates.salary]]")


def check_municipalities() -> None:
    """``config/municipalities.toml`` is there and names Denmark's 98 municipalities."""
    where = "config/municipalities.toml"
    try:
        names = danish.municipalities().names
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({type(exc).__name__}: {exc})") from None
    if len(set(names)) != MUNICIPALITIES:
        raise ConfigError(f"{where} municipalities: expected {MUNICIPALITIES} names, found {len(set(names))}")


def check_field_maps() -> FieldMap:
    """Every field map under ``config/fields`` parses; returns the one the worker reads with."""
    for res in resources.files("config").joinpath("fields").iterdir():
        if res.name.endswith(".toml"):
            _field_map(res.name.removesuffix(".toml"))
    return _field_map(DEFAULT_FIELDMAP)


def _field_map(name: str) -> FieldMap:
    try:
        return load_fieldmap(name)
    except FieldMapError as exc:
        raise ConfigError(str(exc)) from None


def check_pool_files() -> None:
    """Every pool file shipped under ``config/pools`` parses and validates."""
    for res in resources.files("config").joinpath("pools").iterdir():
        if res.name.endswith(".toml"):
            load_pool(res.name.removesuffix(".toml"))


@contextmanager
def _template_errors(name: str) -> Iterator[None]:
    try:
        yield
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"config/templates/{exc.name}: missing") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"config/templates/{name}: {type(exc).__name__}: {exc}") from None


def _sample_case(pool: Pool) -> Case:
    """A case with one submission, an attachment, values and a problem (never stored)."""
    received = dt.datetime.combine(pool.application_deadline, dt.time(12, 0), tzinfo=pool.timezone)
    case = Case(case_id=f"{pool.case_prefix}-{pool.case_year}-0001", kind=MailKind.APPLICATION,
                status=CaseStatus.INCOMPLETE, sender="ansoeger@example.org", sender_name="Ansøger",
                subject="Ansøgning", org_name="Boligselskabet", received_at=received,
                granted_amount="1000.00")
    sub = Submission(current=True, status=CaseStatus.INCOMPLETE,
                     fields={"org_name": {"value": "Boligselskabet", "raw": "Boligselskabet", "source": "x"}},
                     budget={"lines": [], "total": "1000.00"},
                     problems=[{"code": ProblemCode.FORM_MISSING.value, "field": None, "message": "x",
                                "severity": "error"},
                               {"code": ProblemCode.HOURS_BELOW_NORM.value, "field": "salary_2026.hours",
                                "message": "x", "severity": "warning"}])
    sub.attachments = [Attachment(filename="a.pdf", role=AttachmentRole.REPORT_PART, detected_type="pdf",
                                  parts=[pool.report.parts[0].key]),
                       Attachment(filename="b.xlsx", role=AttachmentRole.BUDGET, detected_type="xlsx")]
    case.submissions = [sub]
    return case


def check_templates(settings: Settings, pool: Pool) -> None:
    """The receipt and every reminder of the pool have templates that render on a sample case."""
    setup = receipt_setup(settings, pool)
    case = _sample_case(pool)
    sub = case.submissions[0]
    incoming = receipts.Incoming(message_pk=1, message_id="<x@example.org>", references=[], headers={},
                                 content_type="multipart/mixed", arrived_at=case.received_at,
                                 subject="Ansøgning", from_addr=case.sender, from_name=case.sender_name)
    renders: list[tuple[str, dict[str, Any]]] = []
    grant = receipts.Grant(case.case_id, "Boligselskabet", quarter="1. kvartal 2026", inferred=True,
                           approved=True, parts=frozenset(setup.pool.documentation_parts))
    for kind in (MailKind.APPLICATION, MailKind.REPORT, MailKind.DOCUMENTATION):
        case.kind = kind
        for status in (CaseStatus.INCOMPLETE, CaseStatus.LATE):
            case.status = status
            renders.append((f"receipt-{kind}", receipts.receipt_context(case, sub, incoming, setup.pool, grant)))
    case.kind, case.status = MailKind.APPLICATION, CaseStatus.INCOMPLETE
    for rule in reminder_rules(pool):
        renders.append((f"reminder-{rule.id}", reminders.reminder_context(case, rule, setup)))
    for base, extra in (("documentation-approved", {"amount": "1,00 kr.", "reason": ""}),
                        ("documentation-rejected", {"amount": "", "reason": "x"}),
                        ("documentation-reminder", {"quarter_id": "2026Q1", "ended": "x", "due": "x"})):
        renders.append((base, documentation.context(case, "1. kvartal 2026", setup, **extra)))
    for letter_kind in LetterKind:
        facts = letters.LetterFacts(case_id=case.case_id, version=1, kind=letter_kind, recipient="a@example.org",
                                    name="Ansøger", org_name="Boligselskabet", address="Vej 1", cvr="12345674",
                                    amount=Decimal(1), applied=Decimal(2), fte=Decimal(1), years=(2026,),
                                    plan=(("1. kvartal 2026", Decimal(1)),), reason="x",
                                    corrects=pool.application_deadline)
        for for_pdf in (False, True):
            renders.append((f"letter-{letter_kind}", {**letters.context(facts, setup), "for_pdf": for_pdf}))
    env = environment()
    for base, context in renders:
        for ext in ("txt", "html"):
            name = f"{base}.{ext}.j2"
            with _template_errors(name):
                env.get_template(name).render(**context)
