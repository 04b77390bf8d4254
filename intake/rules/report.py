"""The final report: every part the pool file lists is there, none longer than its page limit."""

from __future__ import annotations

from intake.rules.base import Report, Rule
from parsers import danish
from parsers.codes import Finding, ProblemCode


class ReportPartMissing(Rule[Report]):
    """A part the report must hold is in none of its files (nor in an earlier mail of the case)."""

    code = ProblemCode.REPORT_PART_MISSING
    field = "<report part>"
    description = "A part of the final report (pool file [[report.parts]]) was not found."
    params = frozenset({"part", "what"})

    def check(self, subject: Report) -> list[Finding]:
        """One finding per missing part, in the report's order."""
        found = subject.found
        return [self.found(part.key, part=part.name, what=part.missing)
                for part in subject.pool.report.parts if part.key not in found]


class ReportTooLong(Rule[Report]):
    """A part with a page limit (the professional report: 1½ pages) is longer than allowed."""

    code = ProblemCode.REPORT_TOO_LONG
    field = "<report part with max_pages>"
    description = "A report part is longer than its max_pages (the last page counts by its share of text)."
    params = frozenset({"filename", "part", "pages", "limit"})

    def check(self, subject: Report) -> list[Finding]:
        """One finding per file longer than the limit of a part it holds."""
        out = []
        for file in subject.files:
            if file.pages_used is None:
                continue
            for key in file.parts:
                limit = subject.pool.report.part(key).max_pages
                if limit is not None and file.pages_used > limit:
                    out.append(self.found(key, filename=file.filename or "",
                                          part=subject.pool.report.part(key).name,
                                          pages=danish.number_da(file.pages_used),
                                          limit=danish.pages_da(limit)))
        return out
