"""Problem codes: every problem intake can report, and the shapes a problem travels in.

The lowest layer, so that the readers (``parsers/``) and the rules
(``intake/rules/``) name the same codes. A reader or a rule records a
:class:`Finding` (the code, the field, and the params that say why); the
problem texts (``config/problems.da.toml``) turn it into a :class:`Problem`,
the JSON stored in ``Submission.problems`` (docs/contracts.md). Severity is
data too: each code's ``severity`` in the same file.

The start-up validation (``intake/validation.py``) holds the codes, the texts
and the params together: every code has a text, every text has a code, and
every ``{placeholder}`` is a param its producer gives (:data:`READER_PARAMS`
for the readers; each rule declares its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypedDict


class Severity(StrEnum):
    """How much a problem weighs: the applicant must fix it, or staff should look."""

    ERROR = "error"  # the case is "mangler" until it is fixed
    WARNING = "warning"  # a person looks; the case can still be "komplet"


class ProblemCode(StrEnum):
    """Every problem intake can report (the ``code`` of a stored problem)."""

    # arrival
    LATE = "late"
    REPORT_LATE = "report_late"
    # the mail itself (parsers/mime.py: limits passed, only the headers were read)
    MAIL_HEADER_TOO_LARGE = "mail_header_too_large"
    MAIL_TOO_DEEP = "mail_too_deep"
    MAIL_TOO_MANY_PARTS = "mail_too_many_parts"
    # reading the attachments breached a limit of the reading process (intake/cases/reading.py)
    ATTACHMENTS_NOT_READ = "attachments_not_read"
    # attachments
    FORM_MISSING = "form_missing"
    BUDGET_MISSING = "budget_missing"
    FORM_UNSUPPORTED_FORMAT = "form_unsupported_format"
    BUDGET_UNSUPPORTED_FORMAT = "budget_unsupported_format"
    ZIP_NOT_OPENED = "zip_not_opened"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    # reading the form (parsers/form/)
    FORM_CORRUPT = "form_corrupt"
    FORM_ENCRYPTED = "form_encrypted"
    FORM_TOO_MANY_PAGES = "form_too_many_pages"
    FORM_UNPACKS_TOO_LARGE = "form_unpacks_too_large"
    FORM_TOO_MANY_OBJECTS = "form_too_many_objects"
    FORM_SCANNED = "form_scanned"
    FORM_TEXT_UNREADABLE = "form_text_unreadable"
    FORM_OCR_LAYER = "form_ocr_layer"
    FORM_EMPTY = "form_empty"
    FORM_NOT_RECOGNISED = "form_not_recognised"
    FIELD_NEEDS_REVIEW = "field_needs_review"
    FIELD_UNREADABLE = "field_unreadable"  # something is written, but not read with certainty
    FIELD_LABEL_NOT_FOUND = "field_label_not_found"  # the field's label is not in the printed text
    # reading the budget (parsers/budget.py)
    BUDGET_ENCRYPTED = "budget_encrypted"
    BUDGET_IS_PDF = "budget_is_pdf"
    BUDGET_UNSUPPORTED = "budget_unsupported"
    BUDGET_CORRUPT = "budget_corrupt"
    BUDGET_TOO_MANY_CELLS = "budget_too_many_cells"
    BUDGET_UNPACKS_TOO_LARGE = "budget_unpacks_too_large"
    BUDGET_PACKED_TOO_TIGHTLY = "budget_packed_too_tightly"
    BUDGET_TOO_MANY_PARTS = "budget_too_many_parts"
    BUDGET_NOT_RECOGNISED = "budget_not_recognised"
    BUDGET_LINE_MISSING = "budget_line_missing"
    BUDGET_VALUE_MISSING = "budget_value_missing"
    BUDGET_VALUE_MALFORMED = "budget_value_malformed"
    # form fields (the form reader and the field rules)
    FIELD_MISSING = "field_missing"
    FIELD_MALFORMED = "field_malformed"
    CVR_CHECK_DIGIT = "cvr_check_digit"
    MUNICIPALITY_UNKNOWN = "municipality_unknown"
    EMAIL_INVALID = "email_invalid"
    FTE_NOT_POSITIVE = "fte_not_positive"
    PARTNERS_NO_MUNICIPALITY = "partners_no_municipality"
    # budget
    RATE_ABOVE_FUNDED = "rate_above_funded"
    SHARE_ABOVE_FUNDED = "share_above_funded"
    HOURS_ABOVE_NORM = "hours_above_norm"
    HOURS_BELOW_NORM = "hours_below_norm"
    LINE_ARITHMETIC = "line_arithmetic"
    ACTIVITY_ABOVE_MAX = "activity_above_max"
    TOTAL_ARITHMETIC = "total_arithmetic"
    TOTAL_ABOVE_CEILING = "total_above_ceiling"
    TOTAL_DIFFERS_FROM_FORM = "total_differs_from_form"
    # final reports (parts come from the pool file: the part is the problem's field)
    REPORT_PART_MISSING = "report_part_missing"
    REPORT_TOO_LONG = "report_too_long"
    REPORT_ATTACHMENT_UNREADABLE = "report_attachment_unreadable"
    # a quarter's documentation (parts come from the pool file's [documentation])
    DOCUMENTATION_PART_MISSING = "documentation_part_missing"
    DOCUMENTATION_QUARTER_UNCLEAR = "documentation_quarter_unclear"


class Finding(TypedDict):
    """A problem as a reader or a rule records it: what, where, and the params that say why."""

    code: ProblemCode
    field: str | None
    params: dict[str, Any]


class Problem(TypedDict):
    """A problem as stored and shown (docs/contracts.md): the Danish message is rendered."""

    code: str
    field: str | None
    message: str
    severity: str


def finding(code: ProblemCode, field: str | None = None, **params: Any) -> Finding:
    """A :class:`Finding` with ``params`` as keywords."""
    return {"code": code, "field": field, "params": params}


C = ProblemCode

# The params each reader gives its codes (the readers' docstring tables say the same).
# A problem text may use only these (and {label}, the Danish name of the field).
READER_PARAMS: Mapping[ProblemCode, frozenset[str]] = {
    # parsers/mime.py
    C.MAIL_HEADER_TOO_LARGE: frozenset({"size", "limit"}),
    C.MAIL_TOO_DEEP: frozenset({"max_depth"}),
    C.MAIL_TOO_MANY_PARTS: frozenset({"max_parts"}),
    # intake/cases/reading.py (memory, CPU time or wall-clock time of the reading process)
    C.ATTACHMENTS_NOT_READ: frozenset({"why"}),
    # parsers/form/
    C.FORM_CORRUPT: frozenset({"error"}),
    C.FORM_ENCRYPTED: frozenset(),
    C.FORM_TOO_MANY_PAGES: frozenset({"pages", "max_pages"}),
    C.FORM_UNPACKS_TOO_LARGE: frozenset({"size", "limit"}),
    C.FORM_TOO_MANY_OBJECTS: frozenset({"objects", "max_objects"}),
    C.FORM_SCANNED: frozenset({"pages"}),
    C.FORM_EMPTY: frozenset(),
    C.FORM_NOT_RECOGNISED: frozenset({"pages"}),
    C.FORM_TEXT_UNREADABLE: frozenset({"pages"}),
    C.FORM_OCR_LAYER: frozenset({"pages"}),
    C.FIELD_MISSING: frozenset({"label"}),
    C.FIELD_MALFORMED: frozenset({"label", "raw", "reason"}),
    C.CVR_CHECK_DIGIT: frozenset({"label", "raw", "reason"}),
    C.MUNICIPALITY_UNKNOWN: frozenset({"label", "raw", "reason"}),
    C.FIELD_NEEDS_REVIEW: frozenset({"label", "reason"}),
    C.FIELD_UNREADABLE: frozenset({"label", "reason"}),
    C.FIELD_LABEL_NOT_FOUND: frozenset({"label"}),
    # parsers/budget.py
    C.BUDGET_ENCRYPTED: frozenset(),
    C.BUDGET_IS_PDF: frozenset(),
    C.BUDGET_UNSUPPORTED: frozenset({"type"}),
    C.BUDGET_CORRUPT: frozenset({"error"}),
    C.BUDGET_TOO_MANY_CELLS: frozenset({"cells", "max_cells"}),
    C.BUDGET_UNPACKS_TOO_LARGE: frozenset({"size", "limit"}),
    C.BUDGET_PACKED_TOO_TIGHTLY: frozenset({"ratio", "max_ratio"}),
    C.BUDGET_TOO_MANY_PARTS: frozenset({"parts", "max_parts"}),
    C.BUDGET_NOT_RECOGNISED: frozenset(),
    C.BUDGET_LINE_MISSING: frozenset({"line"}),
    C.BUDGET_VALUE_MISSING: frozenset({"line", "column", "cell"}),
    C.BUDGET_VALUE_MALFORMED: frozenset({"line", "column", "cell", "raw", "reason"}),
    # parsers/report.py
    C.REPORT_ATTACHMENT_UNREADABLE: frozenset({"filename", "reason"}),
}
