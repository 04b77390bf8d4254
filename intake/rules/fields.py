"""The form's values: required fields, CVR check digit, municipality, e-mail, caretakers, partners.

Field rules run only when the form could be read at all (otherwise its own
problem says why, and a flood of "missing" fields would only confuse), and
never on a field a reader already reported.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from typing import ClassVar

from intake.rules.base import Application, Rule, decimal_or_none
from parsers import danish, normalize
from parsers.codes import Finding, ProblemCode

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")  # labels without dots: no backtracking


class FieldRule(Rule[Application]):
    """A rule about the form's values: silent when the form could not be read."""

    def check(self, subject: Application) -> list[Finding]:
        """The problems of the form's values, if the form was read."""
        return self.check_fields(subject) if subject.form_read else []

    @abstractmethod
    def check_fields(self, subject: Application) -> list[Finding]:
        """The problems of a form that was read."""

    def _unflagged(self, subject: Application, key: str) -> object:
        """The value of ``key`` unless a reader already reported the field (then None)."""
        return None if key in subject.flagged else subject.value(key)


class FieldMissing(FieldRule):
    """A field the field map marks required is empty."""

    code = ProblemCode.FIELD_MISSING
    field = "<required field>"
    description = "A required field of the form (the field map's 'required') is empty."

    def check_fields(self, subject: Application) -> list[Finding]:
        """One finding per empty required field, in form order."""
        return [self.found(key) for key in subject.required
                if key not in subject.flagged and subject.value(key) is None]


class _ValueRule(FieldRule):
    """A rule about one field's value as the form gives it; the finding quotes the value."""

    param: ClassVar[str]  # the name the value is quoted under

    @abstractmethod
    def valid(self, value: object) -> bool:
        """True when the value passes."""

    def check_fields(self, subject: Application) -> list[Finding]:
        """A finding when the field has a value that does not pass."""
        assert self.field is not None
        value = self._unflagged(subject, self.field)
        if value is None or self.valid(value):
            return []
        return [self.found(self.field, **{self.param: value})]


class CvrCheckDigit(_ValueRule):
    """The CVR number fails its modulus-11 check: no such organisation."""

    code = ProblemCode.CVR_CHECK_DIGIT
    field = "cvr"
    description = "The CVR number is not 8 digits passing the modulus-11 check (weights 2,7,6,5,4,3,2,1)."
    params = frozenset({"raw"})
    param = "raw"

    def valid(self, value: object) -> bool:
        """8 digits with the right check digit."""
        return normalize.is_valid_cvr(str(value))


class MunicipalityUnknown(_ValueRule):
    """The municipality is none of Denmark's 98."""

    code = ProblemCode.MUNICIPALITY_UNKNOWN
    field = "municipality"
    description = "The municipality is not one of Denmark's 98 municipalities."
    params = frozenset({"raw"})
    param = "raw"

    def valid(self, value: object) -> bool:
        """One of the municipalities, in any spelling."""
        return danish.municipality_name(str(value)) is not None


class EmailInvalid(_ValueRule):
    """The contact e-mail cannot be an address (we could not answer)."""

    code = ProblemCode.EMAIL_INVALID
    field = "contact_email"
    description = "The contact e-mail address is not shaped like an address."
    params = frozenset({"value"})
    param = "value"

    def valid(self, value: object) -> bool:
        """Shaped like an address."""
        return _EMAIL.match(str(value)) is not None


class FteNotPositive(FieldRule):
    """Zero (or fewer) caretakers: nothing to fund."""

    code = ProblemCode.FTE_NOT_POSITIVE
    field = "fte"
    description = "The number of caretakers (full-time equivalents) is not above 0."
    params = frozenset({"value"})

    def check_fields(self, subject: Application) -> list[Finding]:
        """A finding when fte ≤ 0."""
        fte = decimal_or_none(self._unflagged(subject, "fte"))
        if fte is None or fte > 0:
            return []
        return [self.found("fte", value=danish.number_da(fte))]


class PartnersNoMunicipality(FieldRule):
    """Collaboration with the municipality is a precondition: the partners must name one.

    Empty partners are ``field_missing`` when the field map requires them, else this problem.
    """

    code = ProblemCode.PARTNERS_NO_MUNICIPALITY
    field = "partners"
    description = "No municipality among the partners (collaboration with it is a precondition)."

    def check_fields(self, subject: Application) -> list[Finding]:
        """A finding when the partners name no municipality."""
        if "partners" in subject.flagged:
            return []
        partners = subject.value("partners")
        if partners is None and "partners" in subject.required:
            return []
        if partners is not None and danish.names_a_municipality(str(partners)):
            return []
        return [self.found("partners")]
