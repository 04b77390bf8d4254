"""Problems as applicants and staff read them: code, field, Danish message, severity.

The texts live in ``config/problems.da.toml`` (data, not code): per code a
``severity`` and a ``text`` with ``{placeholders}``. Readers and rules hand over
a :class:`~parsers.codes.Finding`; :meth:`Texts.render` turns it into the
contract shape ``{"code", "field", "message", "severity"}``.

Nothing is invented: an unknown code, a text without a severity or a
placeholder the finding does not fill raises :class:`TextError`. The start-up
validation (``intake/validation.py``) checks every code, text and placeholder
against the rules and readers, so that this never happens at run time.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from parsers.codes import Finding, Problem, ProblemCode, Severity
from parsers.fieldmap import FieldMap
from parsers.report import ReportSpec

SOURCE = "config/problems.da.toml"
NO_FIELD = "ansøgningen"  # what {label} says for a problem about the whole application
QUARTER_FIELD = "quarter"  # the field of a problem about which quarter documentation is for


class TextError(LookupError):
    """A problem that cannot be put into words: a bug or a broken problem-text file."""


@dataclass(frozen=True)
class ProblemText:
    """One code's entry in the problem texts."""

    severity: Severity
    text: str


@cache
def catalogue() -> dict[str, Any]:
    """The parsed ``config/problems.da.toml``: ``{"problems": {...}, "types": {...}}``."""
    text = resources.files("config").joinpath("problems.da.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text needs (ValueError for a stray brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problem_text(code: ProblemCode | str) -> ProblemText:
    """The severity and Danish text of ``code``; TextError when there is none."""
    entry = catalogue().get("problems", {}).get(str(code))
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
        raise TextError(f"{SOURCE}: no text for problem code {str(code)!r}")
    try:
        severity = Severity(str(entry.get("severity")))
    except ValueError:
        raise TextError(f"{SOURCE} [problems.{code}]: severity must be one of "
                        f"{', '.join(Severity)}, not {entry.get('severity')!r}") from None
    return ProblemText(severity, entry["text"])


def severity(code: ProblemCode) -> Severity:
    """How much a problem with ``code`` weighs."""
    return problem_text(code).severity


def type_name(detected: str) -> str:
    """How a file type read from the bytes (``parsers.filetype``) is called in a Danish message."""
    name = catalogue().get("types", {}).get(detected)
    if not isinstance(name, str):
        raise TextError(f"{SOURCE} [types]: no Danish name for the file type {detected!r}")
    return name


def field_labels(fieldmap: FieldMap, report: ReportSpec,
                 documentation: ReportSpec | None = None) -> dict[str, str]:
    """Danish names of what a problem can be about: form fields, budget lines, report parts, and a
    quarter's documentation (its parts, and which quarter it is)."""
    labels = {f.key: f.label for f in fieldmap.fields}
    labels.update({line.key: line.label for line in (*fieldmap.budget.lines, fieldmap.budget.total)})
    labels.update({part.key: part.label for part in report.parts})
    labels.update({part.key: part.label for part in (documentation.parts if documentation else ())})
    labels[QUARTER_FIELD] = "Kvartal"
    return labels


class Texts:
    """Renders findings with the labels of one field map and pool."""

    def __init__(self, labels: Mapping[str, str]):
        self.labels = dict(labels)

    def label(self, field: str | None) -> str:
        """The Danish name of a field (``salary_2026.rate`` → ``Løn 2026``); TextError if none."""
        if not field:
            return NO_FIELD
        found = self.labels.get(field) or self.labels.get(field.split(".", 1)[0])
        if found is None:
            raise TextError(f"no Danish label for the field {field!r} (field map or pool file)")
        return found

    def render(self, found: Finding) -> Problem:
        """The stored problem for a finding: its code, field, Danish message and severity."""
        try:
            code = ProblemCode(found["code"])
        except ValueError:
            raise TextError(f"unknown problem code {found['code']!r}") from None
        entry = problem_text(code)
        params = found["params"]
        values: dict[str, Any] = {}
        for name in placeholders(entry.text):
            if params.get(name) is not None:
                values[name] = params[name]
            elif name == "label":
                values[name] = self.label(found["field"])
            else:
                raise TextError(f"{SOURCE} [problems.{code}]: the text needs {{{name}}}, "
                                f"which this problem does not give (it gives {sorted(params)})")
        return {"code": code.value, "field": found["field"], "message": entry.text.format_map(values),
                "severity": entry.severity.value}

    def render_all(self, findings: Iterable[Finding]) -> list[Problem]:
        """Render findings in order."""
        return [self.render(f) for f in findings]
