"""Every rule, in the order it runs, and the two checks built from them.

A mail is checked in three steps, so that its problems read in a natural
order: first what arrived (in time? the documents we need, in formats we can
read?), then what the readers reported while reading the documents, then what
the documents say (the form's values, the budget, the report's length).
``check_application``, ``check_report`` and ``check_documentation`` run the rules of each step in the
order below and render the findings with the Danish texts.

A new rule is a class in the module for what it looks at (deadline,
attachments, fields, budget, report) added here; its code goes into
``parsers/codes.py`` and its text into ``config/problems.da.toml``. The
start-up validation checks that they fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from intake.rules import attachments, budget, deadline, documentation, fields, report
from intake.rules.base import Application, Documentation, LineRule, Report, Rule
from intake.rules.texts import Texts
from parsers.codes import Finding, Problem, Severity
from store.words import CaseStatus

# An application: what arrived, then what the form and the budget say.
APPLICATION_ARRIVAL: tuple[Rule[Application], ...] = (
    deadline.Late(),
    attachments.FormMissing(),
    attachments.FormUnsupportedFormat(),
    attachments.ZipNotOpened(),
    attachments.BudgetMissing(),
    attachments.BudgetUnsupportedFormat(),
    attachments.AttachmentTooLarge(),
)
APPLICATION_CONTENT: tuple[Rule[Application], ...] = (
    fields.FieldMissing(),
    fields.CvrCheckDigit(),
    fields.MunicipalityUnknown(),
    fields.EmailInvalid(),
    fields.FteNotPositive(),
    fields.PartnersNoMunicipality(),
    budget.RateAboveFunded(),
    budget.ShareAboveFunded(),
    budget.HoursAboveNorm(),
    budget.HoursBelowNorm(),
    budget.LineArithmetic(),
    budget.ActivityAboveMax(),
    budget.TotalArithmetic(),
    budget.TotalAboveCeiling(),
    budget.TotalDiffersFromForm(),
)
# A final report: what arrived (in time, every part), then how long the parts are.
REPORT_ARRIVAL: tuple[Rule[Report], ...] = (
    deadline.ReportLate(),
    attachments.AttachmentTooLarge(),
    report.ReportPartMissing(),
)
REPORT_CONTENT: tuple[Rule[Report], ...] = (
    report.ReportTooLong(),
)

# A quarter's documentation: which quarter, then the parts it must hold.
DOCUMENTATION_RULES: tuple[Rule[Documentation], ...] = (
    documentation.DocumentationQuarterUnclear(),
    attachments.AttachmentTooLarge(),
    documentation.DocumentationPartMissing(),
)

APPLICATION_RULES = APPLICATION_ARRIVAL + APPLICATION_CONTENT
REPORT_RULES = REPORT_ARRIVAL + REPORT_CONTENT

AnyRule = Rule[Application] | Rule[Report] | Rule[Documentation]


def all_rules() -> list[AnyRule]:
    """Every rule once, applications' first (a rule several kinds use is listed once)."""
    rules: list[AnyRule] = [*APPLICATION_RULES, *REPORT_RULES, *DOCUMENTATION_RULES]
    out: list[AnyRule] = []
    for rule in rules:
        if all(type(rule) is not type(r) for r in out):
            out.append(rule)
    return out


S = TypeVar("S", Application, Report, Documentation)


def run(rules: Sequence[Rule[S]], subject: S) -> list[Finding]:
    """The findings of ``rules`` in order; consecutive line rules run line by line."""
    out: list[Finding] = []
    i = 0
    while i < len(rules):
        rule = rules[i]
        if isinstance(rule, LineRule) and isinstance(subject, Application):
            group: list[LineRule] = []
            while i < len(rules):
                candidate = rules[i]
                if not isinstance(candidate, LineRule):
                    break
                group.append(candidate)
                i += 1
            for line in subject.lines:
                for line_rule in group:
                    out += line_rule.check_line(subject, line)
            continue
        out += rule.check(subject)
        i += 1
    return out


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per (code, field): a reader and a rule may find the same thing."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for p in problems:
        key = (p["code"], p["field"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def check_application(subject: Application, texts: Texts) -> list[Problem]:
    """Every problem of an application, in a stable order, in Danish.

    A mail that passed a MIME limit had no attachment read: its finding says so, first,
    instead of "the form is missing"."""
    if subject.mail_findings:
        return _dedupe(texts.render_all([*run((deadline.Late(),), subject), *subject.mail_findings]))
    found = run(APPLICATION_ARRIVAL, subject)
    found += [*subject.form_findings, *subject.budget_findings]
    found += run(APPLICATION_CONTENT, subject)
    return _dedupe(texts.render_all(found))


def check_report(subject: Report, texts: Texts) -> list[Problem]:
    """Every problem of a final report, in a stable order, in Danish (a mail that passed a MIME
    limit: only whether it was late, and why nothing was read)."""
    if subject.mail_findings:
        return texts.render_all([*run((deadline.ReportLate(),), subject), *subject.mail_findings])
    found = run(REPORT_ARRIVAL, subject) + list(subject.findings) + run(REPORT_CONTENT, subject)
    return texts.render_all(found)


def check_documentation(subject: Documentation, texts: Texts) -> list[Problem]:
    """Every problem of a quarter's documentation, in a stable order, in Danish."""
    return texts.render_all(run(DOCUMENTATION_RULES, subject) + list(subject.findings))


def status_for(problems: Sequence[Problem], late: bool) -> CaseStatus:
    """The status problems give: ``for sent`` if late, ``mangler`` on any error, else ``komplet``."""
    if late:
        return CaseStatus.LATE
    if any(p["severity"] == Severity.ERROR for p in problems):
        return CaseStatus.INCOMPLETE
    return CaseStatus.COMPLETE
