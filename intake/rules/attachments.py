"""The documents a mail must bring: the form and the budget, in formats we can read."""

from __future__ import annotations

from intake.rules import texts
from intake.rules.base import Application, Arrival, Rule
from parsers import danish, filetype
from parsers.codes import Finding, ProblemCode
from store.words import AttachmentRole


class FormMissing(Rule[Application]):
    """No attachment could be taken for the application form."""

    code = ProblemCode.FORM_MISSING
    description = "No attachment is the application form."

    def check(self, subject: Application) -> list[Finding]:
        """A finding when no attachment is the form."""
        return [] if subject.with_role(AttachmentRole.FORM) else [self.found()]


class FormUnsupportedFormat(Rule[Application]):
    """The form was sent in a format we cannot read (Word, a photo): a person must not guess."""

    code = ProblemCode.FORM_UNSUPPORTED_FORMAT
    description = "The application form is not a PDF (Word, OpenDocument, an image ...)."
    params = frozenset({"filename", "type"})

    def check(self, subject: Application) -> list[Finding]:
        """A finding when the form is not a PDF."""
        forms = subject.with_role(AttachmentRole.FORM)
        if not forms or forms[0].detected_type == filetype.PDF:
            return []
        form = forms[0]
        return [self.found(None, filename=form.filename or "", type=texts.type_name(form.detected_type))]


class ZipNotOpened(Rule[Application]):
    """We do not unpack zip files (hostile mail): the applicant should attach the files directly."""

    code = ProblemCode.ZIP_NOT_OPENED
    description = "A zip file was attached; zip files are not opened."
    params = frozenset({"filename"})

    def check(self, subject: Application) -> list[Finding]:
        """One finding per zip file."""
        return [self.found(None, filename=a.filename or "")
                for a in subject.attachments if a.detected_type == filetype.ZIP]


class BudgetMissing(Rule[Application]):
    """No attachment could be taken for the budget."""

    code = ProblemCode.BUDGET_MISSING
    description = "No attachment is the budget."

    def check(self, subject: Application) -> list[Finding]:
        """A finding when no attachment is the budget."""
        return [] if subject.with_role(AttachmentRole.BUDGET) else [self.found()]


class BudgetUnsupportedFormat(Rule[Application]):
    """The budget was sent in a format that is no spreadsheet (a PDF, a Word file)."""

    code = ProblemCode.BUDGET_UNSUPPORTED_FORMAT
    description = "The budget is not a spreadsheet (xlsx, xlsm, xls, ods)."
    params = frozenset({"filename", "type"})

    def check(self, subject: Application) -> list[Finding]:
        """A finding when the budget is no spreadsheet."""
        budgets = subject.with_role(AttachmentRole.BUDGET)
        if not budgets or budgets[0].detected_type in filetype.BUDGET_TYPES:
            return []
        budget = budgets[0]
        return [self.found(None, filename=budget.filename or "",
                           type=texts.type_name(budget.detected_type))]


class AttachmentTooLarge(Rule[Arrival]):
    """A file above the size limit is kept but not read."""

    code = ProblemCode.ATTACHMENT_TOO_LARGE
    description = "An attachment is larger than max_attachment_bytes and was not read."
    params = frozenset({"filename", "size", "limit"})

    def check(self, subject: Arrival) -> list[Finding]:
        """One finding per file above the limit."""
        limit = danish.size_da(subject.max_attachment_bytes)
        return [self.found(None, filename=a.filename or "", size=danish.size_da(a.size), limit=limit)
                for a in subject.with_role(AttachmentRole.TOO_LARGE)]
