"""The readers' seam: what ``intake/extraction.py`` may call, and what it gets back.

Each reader is pure (bytes in, a documented dataclass out), never raises on
hostile input, checks sizes before it builds anything (``sizes``, the
``[processing]`` limits), and records its problems as
:class:`~parsers.codes.Finding`.
:data:`READERS` are ours; a test or a later round may pass others that fit
the same protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from parsers.budget import BudgetReading, read_budget
from parsers.fieldmap import FieldMap
from parsers.form import FormReading, read_application_form
from parsers.limits import SizeLimits
from parsers.report import ReportReading, ReportSpec, read_report


class FormReader(Protocol):
    """Reads the application form (PDF) with a field map."""

    def __call__(self, data: bytes, fieldmap: FieldMap, *, max_pages: int,
                 sizes: SizeLimits) -> FormReading: ...


class BudgetReader(Protocol):
    """Reads the budget (a spreadsheet of the detected type) with a field map."""

    def __call__(self, data: bytes, detected_type: str, fieldmap: FieldMap, *,
                 max_cells: int, sizes: SizeLimits) -> BudgetReading: ...


class ReportReader(Protocol):
    """Classifies a final report's files ``(filename, bytes, detected type)`` by the pool's parts."""

    def __call__(self, attachments: Sequence[tuple[str | None, bytes, str]], spec: ReportSpec, *,
                 max_pages: int, sizes: SizeLimits) -> ReportReading: ...


@dataclass(frozen=True)
class Readers:
    """One reader of each kind."""

    form: FormReader
    budget: BudgetReader
    report: ReportReader


READERS = Readers(form=read_application_form, budget=read_budget, report=read_report)
