"""``pulje-intake rules``: every check with its code, severity, field and Danish text.

Staff use it as the reference of what intake checks; the texts are the ones
applicants get (``config/problems.da.toml``), placeholders shown as written.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from intake.rules import registry, texts
from intake.rules.registry import AnyRule
from parsers.codes import READER_PARAMS, ProblemCode

SEVERITY_DA = {"error": "fejl: skal rettes", "warning": "advarsel: sekretariatet ser på det"}


def _entry(code: ProblemCode, field: str | None, *, is_rule: bool = True) -> list[str]:
    entry = texts.problem_text(code)
    head = f"  {code}  [{entry.severity} – {SEVERITY_DA[entry.severity]}]"
    if is_rule:
        head += f"  felt: {field or '–'}"
    body = textwrap.wrap(entry.text, width=96, initial_indent="      ", subsequent_indent="      ")
    return [head, *body]


def _section(title: str, rules: Sequence[AnyRule],
             seen: set[ProblemCode]) -> list[str]:
    out = ["", title, "=" * len(title)]
    for rule in rules:
        if rule.code in seen:
            continue
        seen.add(rule.code)
        out += _entry(rule.code, rule.field)
    return out


def rules_listing() -> str:
    """The listing: the rules in the order they run, then the codes the document readers report."""
    seen: set[ProblemCode] = set()
    out = ["Det tjekker intake (pulje-intake rules). Tekster: config/problems.da.toml."]
    out += _section("Ansøgninger: det, der er modtaget", registry.APPLICATION_ARRIVAL, seen)
    out += _section("Ansøgninger: skemaets værdier og budgettet", registry.APPLICATION_CONTENT, seen)
    out += _section("Afrapporteringer", registry.REPORT_RULES, seen)
    out += _section("Kvartalsdokumentation", registry.DOCUMENTATION_RULES, seen)
    rule_count = len(registry.all_rules())
    title = "Når et dokument ikke kan læses (meldes af læserne, før reglerne kører)"
    out += ["", title, "=" * len(title)]
    readers = [code for code in READER_PARAMS if code not in seen]
    for code in readers:
        out += _entry(code, None, is_rule=False)
    out += ["", f"{rule_count} regler; {len(readers)} koder mere fra læsningen af dokumenterne."]
    return "\n".join(out)
