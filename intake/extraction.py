"""The seam between a routed mail and its case: what the attachments say.

Each attachment is typed by its bytes and given a role: the application
``form``, the ``budget``, a part of a final report (``rapportdel``, with the
parts it holds), a part of a quarter's documentation (``dokumentation``),
``bilag`` (anything else) or ``for stor`` (above the size limit, not read). The form and the budget are read with the field map and the
limits from the settings (through the reader protocols of
``parsers/readers.py``), the rules run, and the pipeline gets an
:class:`Extraction` with a status. Pure: no database, no clock (the arrival
time is passed in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from intake.pool import Pool
from intake.rules import registry
from intake.rules.base import Application, Documentation, Report
from intake.rules.texts import QUARTER_FIELD, Texts, field_labels
from intake.settings import Settings
from parsers import danish, filetype
from parsers.codes import Finding, Problem, ProblemCode
from parsers.fieldmap import FieldMap, load_fieldmap
from parsers.form import FormReading
from parsers.limits import SizeLimits
from parsers.mime import ParsedMail
from parsers.quarters import QuarterReading, detect
from parsers.readers import READERS, Readers
from parsers.report import find_cvrs
from store.words import AttachmentRole, CaseStatus, MailKind

FORM_TYPES = (filetype.PDF, *filetype.WORD_PROCESSING, *filetype.IMAGES)
# An image smaller than this without a form-like name is a logo, not a photographed form.
PHOTO_MIN_BYTES = 100_000


class ExtractionContext(Protocol):
    """What extraction needs from the processing context (``intake.cases.pipeline.Context``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def pool(self) -> Pool: ...
    @property
    def now(self) -> Callable[[], dt.datetime]: ...


@dataclass
class AttachmentInfo:
    """An attachment as a case lists it."""

    filename: str | None
    declared_type: str | None
    detected_type: str
    size: int
    sha256: str
    role: AttachmentRole | None = None
    parts: list[str] = field(default_factory=list)  # a report part: the parts it holds


@dataclass
class Extraction:
    """What one mail contributes to a case."""

    attachments: list[AttachmentInfo]
    fields: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    status: CaseStatus = CaseStatus.RECEIVED
    late: bool = False
    cvrs: list[str] = field(default_factory=list)  # CVR numbers found in a report's or documentation's text
    quarter: QuarterReading | None = None  # documentation: which quarter it is for

    def value(self, key: str) -> Any:
        """The normalised value of a form field, or None."""
        entry = self.fields.get(key)
        return entry.get("value") if isinstance(entry, dict) else None


def describe_attachments(mail: ParsedMail) -> list[AttachmentInfo]:
    """Name, size, sha256 and content-detected type of every attachment."""
    return [
        AttachmentInfo(
            filename=a.filename,
            declared_type=a.content_type,
            detected_type=filetype.detect(a.data),
            size=len(a.data),
            sha256=hashlib.sha256(a.data).hexdigest(),
        )
        for a in mail.attachments
    ]


def _hint(name: str | None, hints: tuple[str, ...]) -> bool:
    folded = danish.fold_compact(name or "")
    return any(h in folded for h in hints)


def _ext(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def _budget_score(a: AttachmentInfo, fm: FieldMap) -> int:
    hinted = _hint(a.filename, fm.budget.hints)
    if a.detected_type in filetype.SPREADSHEETS:
        return 3 + hinted
    if a.detected_type == filetype.OFFICE_ENCRYPTED and (hinted or _ext(a.filename) in ("xlsx", "xlsm", "xls", "ods")):
        return 3 + hinted
    return 1 if hinted and not _hint(a.filename, fm.form_hints) else 0


def _form_score(a: AttachmentInfo, fm: FieldMap) -> int:
    hinted = _hint(a.filename, fm.form_hints)
    if _hint(a.filename, fm.budget.hints) and not hinted:
        return 0
    if a.detected_type == filetype.PDF:
        return 3 + hinted
    if a.detected_type in filetype.IMAGES and not hinted and a.size < PHOTO_MIN_BYTES:
        return 0  # a logo in a signature (image001.png), not a photo of the form
    if a.detected_type in FORM_TYPES:
        return 1 + hinted
    if a.detected_type == filetype.OFFICE_ENCRYPTED and _ext(a.filename) in ("docx", "doc"):
        return 1 + hinted
    return 0


def assign_roles(infos: list[AttachmentInfo], max_bytes: int, fieldmap: FieldMap) -> None:
    """Pick the budget and the form among the attachments (by type, then the field map's name hints)."""
    usable = []
    for a in infos:
        if a.size > max_bytes:
            a.role = AttachmentRole.TOO_LARGE
        else:
            a.role = AttachmentRole.OTHER
            usable.append(a)
    budget = max(usable, key=lambda a: _budget_score(a, fieldmap), default=None)
    if budget is not None and _budget_score(budget, fieldmap) > 0:
        budget.role = AttachmentRole.BUDGET
    form = max((a for a in usable if a.role == AttachmentRole.OTHER),
               key=lambda a: _form_score(a, fieldmap), default=None)
    if form is not None and _form_score(form, fieldmap) > 0:
        form.role = AttachmentRole.FORM


def texts_for(fieldmap: FieldMap, pool: Pool) -> Texts:
    """The Danish texts with the labels of this field map and pool."""
    documentation = pool.documentation.spec if pool.documentation is not None else None
    return Texts(field_labels(fieldmap, pool.report, documentation))


def _read_form(infos: list[AttachmentInfo], data: dict[int, bytes], fieldmap: FieldMap,
               max_pages: int, sizes: SizeLimits, readers: Readers) -> FormReading | None:
    """Read the form; among several PDFs, the one that turns out to be our form is the form."""
    form = next((i for i in infos if i.role == AttachmentRole.FORM), None)
    if form is None or form.detected_type != filetype.PDF:
        return None
    reading = readers.form(data[id(form)], fieldmap, max_pages=max_pages, sizes=sizes)
    if reading.recognised:
        return reading
    for other in infos:
        if other.role != AttachmentRole.OTHER or other.detected_type != filetype.PDF:
            continue
        candidate = readers.form(data[id(other)], fieldmap, max_pages=max_pages, sizes=sizes)
        if candidate.recognised:
            form.role, other.role = AttachmentRole.OTHER, AttachmentRole.FORM
            return candidate
    return reading


def extract_application(mail: ParsedMail, context: ExtractionContext, received_at: dt.datetime,
                        readers: Readers = READERS) -> Extraction:
    """Read the form and the budget, check them, and give the status they earn."""
    limits = context.settings.processing
    fieldmap = load_fieldmap()
    infos = describe_attachments(mail)
    assign_roles(infos, limits.max_attachment_bytes, fieldmap)
    data = {id(info): att.data for info, att in zip(infos, mail.attachments, strict=True)}
    reading = _read_form(infos, data, fieldmap, limits.max_pdf_pages, limits.sizes, readers)
    fields = reading.values if reading is not None else {}
    budget: dict[str, Any] = {}
    budget_findings: list[Finding] = []
    for info in infos:
        if info.role == AttachmentRole.BUDGET and info.detected_type in filetype.BUDGET_TYPES:
            read = readers.budget(data[id(info)], info.detected_type, fieldmap,
                                  max_cells=limits.max_sheet_cells, sizes=limits.sizes)
            budget = read.as_dict()
            budget_findings += read.problems
    subject = Application(
        received_at=received_at, pool=context.pool, attachments=infos,
        max_attachment_bytes=limits.max_attachment_bytes, fields=fields, budget=budget,
        required=fieldmap.required, form_findings=reading.problems if reading is not None else [],
        budget_findings=budget_findings, mail_findings=mail.findings)
    problems = registry.check_application(subject, texts_for(fieldmap, context.pool))
    late = any(p["code"] == ProblemCode.LATE for p in problems)
    return Extraction(attachments=infos, fields=fields, budget=budget, problems=problems,
                      status=registry.status_for(problems, late), late=late)


def extract_report(mail: ParsedMail, context: ExtractionContext, received_at: dt.datetime,
                   earlier_parts: Collection[str] = frozenset(), readers: Readers = READERS) -> Extraction:
    """Classify the report's parts; parts sent in earlier submissions of the case count too."""
    limits = context.settings.processing
    infos = describe_attachments(mail)
    for a in infos:
        a.role = AttachmentRole.TOO_LARGE if a.size > limits.max_attachment_bytes else AttachmentRole.OTHER
    readable = [(info, att) for info, att in zip(infos, mail.attachments, strict=True)
                if info.role != AttachmentRole.TOO_LARGE]
    reading = readers.report([(att.filename, att.data, info.detected_type) for info, att in readable],
                             context.pool.report, max_pages=limits.max_pdf_pages, sizes=limits.sizes)
    for (info, _), rf in zip(readable, reading.files, strict=True):
        info.role = AttachmentRole.REPORT_PART if rf.parts else AttachmentRole.OTHER
        info.parts = list(rf.parts)
    subject = Report(received_at=received_at, pool=context.pool, attachments=infos,
                     max_attachment_bytes=limits.max_attachment_bytes, files=reading.files,
                     earlier_parts=frozenset(earlier_parts), findings=reading.problems,
                     mail_findings=mail.findings)
    problems = registry.check_report(subject, texts_for(load_fieldmap(), context.pool))
    late = any(p["code"] == ProblemCode.REPORT_LATE for p in problems)
    return Extraction(attachments=infos, problems=problems,
                      status=registry.status_for(problems, late), late=late, cvrs=reading.cvrs)


def extract_documentation(mail: ParsedMail, context: ExtractionContext, received_at: dt.datetime,
                          earlier_parts: Collection[str] = frozenset(),
                          readers: Readers = READERS) -> Extraction:
    """Which quarter the mail documents, and which of the quarter's parts its files hold.

    Parts sent earlier for the same quarter count too. The quarter is a value like
    any other (``fields["quarter"]``: ``{"value": "2026Q1", "raw", "source"}``),
    absent when it is unclear (a problem says so).
    """
    limits = context.settings.processing
    pool = context.pool
    infos = describe_attachments(mail)
    for a in infos:
        a.role = AttachmentRole.TOO_LARGE if a.size > limits.max_attachment_bytes else AttachmentRole.OTHER
    readable = [(info, att) for info, att in zip(infos, mail.attachments, strict=True)
                if info.role != AttachmentRole.TOO_LARGE]
    files = []
    findings: list[Finding] = []
    cvrs = find_cvrs(f"{mail.subject}\n{mail.text}")
    if pool.documentation is not None:
        reading = readers.report([(att.filename, att.data, info.detected_type) for info, att in readable],
                                 pool.documentation.spec, max_pages=limits.max_pdf_pages,
                                 sizes=limits.sizes)
        for (info, _), rf in zip(readable, reading.files, strict=True):
            info.role = AttachmentRole.DOCUMENTATION_PART if rf.parts else AttachmentRole.OTHER
            info.parts = list(rf.parts)
        files, findings = reading.files, list(reading.problems)
        cvrs += [c for c in reading.cvrs if c not in cvrs]
    quarter = detect(mail.subject, [a.filename for a in mail.attachments], mail.text, received_at,
                     pool.quarters, pool.timezone)
    fields: dict[str, Any] = {}
    if quarter.quarter is not None:
        how = "inferred from the arrival date" if quarter.inferred else (
            f"{quarter.source}" + (" (year from the arrival date)" if quarter.year_inferred else ""))
        fields[QUARTER_FIELD] = {"value": quarter.quarter.id, "raw": quarter.raw, "source": how}
    subject = Documentation(received_at=received_at, pool=pool, attachments=infos,
                            max_attachment_bytes=limits.max_attachment_bytes, files=files,
                            earlier_parts=frozenset(earlier_parts), findings=findings, quarter=quarter)
    problems = registry.check_documentation(subject, texts_for(load_fieldmap(), pool))
    return Extraction(attachments=infos, fields=fields, problems=problems,
                      status=registry.status_for(problems, False), cvrs=cvrs, quarter=quarter)


def extract(mail: ParsedMail, kind: str, context: ExtractionContext,
            received_at: dt.datetime | None = None,
            earlier_parts: Collection[str] = frozenset()) -> Extraction:
    """Read what a mail of ``kind`` brings; other kinds keep only their attachments."""
    received_at = received_at or context.now()
    if kind == MailKind.APPLICATION:
        return extract_application(mail, context, received_at)
    if kind == MailKind.REPORT:
        return extract_report(mail, context, received_at, earlier_parts)
    if kind == MailKind.DOCUMENTATION:
        return extract_documentation(mail, context, received_at, earlier_parts)
    return Extraction(attachments=describe_attachments(mail))
