"""A quarter's documentation: every required part is there, and it is clear which quarter it is."""

from __future__ import annotations

from intake.rules.base import Documentation, Rule
from intake.rules.texts import QUARTER_FIELD
from parsers.codes import Finding, ProblemCode


class DocumentationPartMissing(Rule[Documentation]):
    """A part the pool file requires (salary documentation) is in none of the quarter's files."""

    code = ProblemCode.DOCUMENTATION_PART_MISSING
    field = "<documentation part>"
    description = ("A required part of a quarter's documentation (pool file [[documentation.parts]], "
                   "required = true) was not found in this mail nor in earlier mail for the quarter.")
    params = frozenset({"part", "what"})

    def check(self, subject: Documentation) -> list[Finding]:
        """One finding per missing required part, in the pool file's order."""
        spec = subject.pool.documentation
        if spec is None:
            return []
        found = subject.found
        return [self.found(part.key, part=part.name, what=part.missing)
                for part in spec.spec.parts if part.key in spec.required and part.key not in found]


class DocumentationQuarterUnclear(Rule[Documentation]):
    """The mail names two quarters, or one outside the grant period, or none when none has ended."""

    code = ProblemCode.DOCUMENTATION_QUARTER_UNCLEAR
    field = QUARTER_FIELD
    description = ("Which quarter the documentation is for could not be read with certainty "
                   "(parsers/quarters.py): a person decides.")
    params = frozenset({"named"})

    def check(self, subject: Documentation) -> list[Finding]:
        """A finding when the quarter reading has no quarter."""
        reading = subject.quarter
        if reading is None or reading.quarter is not None:
            return []
        named = " og ".join(q.label for q in reading.candidates) or "mailen nævner intet kvartal"
        return [self.found(QUARTER_FIELD, named=named)]
