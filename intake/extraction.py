"""The seam between a routed mail and its case: what the attachments say.

Each attachment is typed by its bytes and given a role: the application
``form``, the ``budget``, a part of a final report (``ledelseserklaering`` …),
``bilag`` (anything else) or ``for stor`` (above the size limit, not read). The
form and the budget are read with the field map and the limits from the
settings, the checks run, and the pipeline gets an :class:`Extraction` with a
status. Pure: no database, no clock (the arrival time is passed in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from intake.rules import checks
from intake.rules import texts as P
from parsers import danish, filetype
from parsers.mime import ParsedMail
from store.words import AttachmentRole, CaseStatus, MailKind

# Folded name fragments that tell what an attachment is meant to be.
FORM_HINTS = ("ansog", "ansoeg", "skema", "application", "form")
BUDGET_HINTS = ("budget",)
FORM_TYPES = (filetype.PDF, *filetype.WORD_PROCESSING, *filetype.IMAGES)
# An image smaller than this without a form-like name is a logo, not a photographed form.
PHOTO_MIN_BYTES = 100_000


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
    problems: list[dict[str, Any]] = field(default_factory=list)
    status: CaseStatus = CaseStatus.RECEIVED
    late: bool = False
    cvrs: list[str] = field(default_factory=list)  # CVR numbers found in a report's text

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


def _budget_score(a: AttachmentInfo) -> int:
    hinted = _hint(a.filename, BUDGET_HINTS)
    if a.detected_type in checks.SPREADSHEET_TYPES and a.detected_type != filetype.OFFICE_ENCRYPTED:
        return 3 + hinted
    if a.detected_type == filetype.OFFICE_ENCRYPTED and (hinted or _ext(a.filename) in ("xlsx", "xlsm", "xls", "ods")):
        return 3 + hinted
    return 1 if hinted and not _hint(a.filename, FORM_HINTS) else 0


def _form_score(a: AttachmentInfo) -> int:
    hinted = _hint(a.filename, FORM_HINTS)
    if _hint(a.filename, BUDGET_HINTS) and not hinted:
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


def assign_roles(infos: list[AttachmentInfo], max_bytes: int) -> None:
    """Pick the budget and the form among the attachments (by type, then name hints)."""
    usable = []
    for a in infos:
        if a.size > max_bytes:
            a.role = AttachmentRole.TOO_LARGE
        else:
            a.role = AttachmentRole.OTHER
            usable.append(a)
    budget = max(usable, key=_budget_score, default=None)
    if budget is not None and _budget_score(budget) > 0:
        budget.role = AttachmentRole.BUDGET
    form = max((a for a in usable if a.role == AttachmentRole.OTHER), key=_form_score, default=None)
    if form is not None and _form_score(form) > 0:
        form.role = AttachmentRole.FORM


def _unpack(result: Any) -> tuple[dict, list[dict]]:
    """A reader's (values, problems), whether it returns a pair or an object."""
    if isinstance(result, tuple):
        return result[0] or {}, list(result[1] or [])
    if hasattr(result, "as_dict"):  # the budget reading
        return result.as_dict() or {}, list(result.problems or [])
    for name in ("values", "budget", "fields"):
        values = getattr(result, name, None)
        if isinstance(values, dict):
            return values, list(getattr(result, "problems", []) or [])
    return {}, list(getattr(result, "problems", []) or [])


def _too_large(infos: list[AttachmentInfo], max_bytes: int) -> list[dict]:
    return [{"code": "attachment_too_large", "field": None,
             "params": {"filename": a.filename or "", "size": danish.size_da(a.size),
                        "limit": danish.size_da(max_bytes)}}
            for a in infos if a.role == AttachmentRole.TOO_LARGE]


def extract_application(mail: ParsedMail, context, received_at: dt.datetime) -> Extraction:
    """Read the form and the budget, check them, and give the status they earn."""
    from parsers.budget import read_budget
    from parsers.fieldmap import load_fieldmap
    from parsers.form import read_application_form

    limits = context.settings.processing
    fieldmap = load_fieldmap()
    infos = describe_attachments(mail)
    assign_roles(infos, limits.max_attachment_bytes)
    data = {id(info): att.data for info, att in zip(infos, mail.attachments, strict=True)}
    fields: dict = {}
    budget: dict = {}
    read_problems: list[dict] = _too_large(infos, limits.max_attachment_bytes)
    form = next((i for i in infos if i.role == AttachmentRole.FORM), None)
    if form is not None and form.detected_type == filetype.PDF:
        reading = read_application_form(data[id(form)], fieldmap, max_pages=limits.max_pdf_pages)
        if not getattr(reading, "recognised", True):
            # several PDFs: the one that turns out to be our form is the form
            for other in infos:
                if other.role != AttachmentRole.OTHER or other.detected_type != filetype.PDF:
                    continue
                candidate = read_application_form(data[id(other)], fieldmap,
                                                  max_pages=limits.max_pdf_pages)
                if getattr(candidate, "recognised", False):
                    form.role, other.role, reading = AttachmentRole.OTHER, AttachmentRole.FORM, candidate
                    break
        fields, found = _unpack(reading)
        read_problems += [{**p, "part": AttachmentRole.FORM} for p in found]
    for info in infos:
        if info.role == AttachmentRole.BUDGET and info.detected_type in checks.SPREADSHEET_TYPES:
            budget, found = _unpack(read_budget(
                data[id(info)], info.detected_type, fieldmap, max_cells=limits.max_sheet_cells))
            read_problems += [{**p, "part": AttachmentRole.BUDGET} for p in found]
    required = [f.key for f in fieldmap.fields if f.required]
    found_problems = checks.check_application(fields, budget, infos, received_at, context.pool,
                                              read_problems, required=required)
    late = any(p["code"] == "late" for p in found_problems)
    return Extraction(attachments=infos, fields=fields, budget=budget, problems=found_problems,
                      status=checks.status_for(found_problems, late), late=late)


def extract_report(mail: ParsedMail, context, received_at: dt.datetime,
                   earlier_parts: set[str] = frozenset()) -> Extraction:
    """Classify the report's parts; parts sent in earlier submissions of the case count too."""
    from parsers.report import read_report

    limits = context.settings.processing
    infos = describe_attachments(mail)
    for a in infos:
        a.role = AttachmentRole.TOO_LARGE if a.size > limits.max_attachment_bytes else AttachmentRole.OTHER
    readable = [(info, att) for info, att in zip(infos, mail.attachments, strict=True)
                if info.role != AttachmentRole.TOO_LARGE]
    reading = read_report([(att.filename, att.data, info.detected_type) for info, att in readable],
                          max_pages=limits.max_pdf_pages)
    for (info, _), rf in zip(readable, reading.files, strict=True):
        info.role = AttachmentRole.REPORT_PART if rf.parts else AttachmentRole.OTHER
        info.parts = list(rf.parts)
    raw = _too_large(infos, limits.max_attachment_bytes) + [
        p for p in reading.problems
        if not (p["code"].startswith("report_missing_") and p["field"] in earlier_parts)]
    found_problems = checks.check_deadline(received_at, context.pool, "report_deadline", "report_late")
    late = bool(found_problems)
    found_problems += P.render_all(raw)
    return Extraction(attachments=infos, problems=found_problems,
                      status=checks.status_for(found_problems, late), late=late, cvrs=reading.cvrs)


def extract(mail: ParsedMail, kind: str, context, received_at: dt.datetime | None = None,
            earlier_parts: set[str] = frozenset()) -> Extraction:
    """Read what a mail of ``kind`` brings; other kinds keep only their attachments."""
    received_at = received_at or context.now()
    if kind == MailKind.APPLICATION:
        return extract_application(mail, context, received_at)
    if kind == MailKind.REPORT:
        return extract_report(mail, context, received_at, earlier_parts)
    return Extraction(attachments=describe_attachments(mail))
