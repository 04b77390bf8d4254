"""Final reports: which of the five required parts the attachments hold. Pure.

A final report must contain a management statement (``ledelseserklaering``), a
professional report of at most 1½ pages (``faglig_afrapportering``), accounts
(``regnskab``), the auditor's report (``revisionsberetning``) and the audit
record (``revisionsprotokollat``). Each attachment is classified by its file
name first and, when the name says nothing, by the text at the top of its first
page (only the pages we need are read).

How "1½ pages" is counted: a page that is not the last counts as one; the last
page counts as the share of text it carries compared with the fullest earlier
page (non-blank characters). So a full page plus a half-filled one is 1.5 and
passes; a full page plus a page filled to 60 % is 1.6 and is too long (the
result is rounded to one decimal first). A
document of three or more pages is too long without looking further; a scan
(no text) is judged by its page count alone.

Problems are ``{"code", "field", "params"}``; codes:
``report_missing_<part>`` (one per missing part), ``report_too_long``
(params ``filename``, ``pages``), ``report_attachment_unreadable`` (params
``filename``, ``reason``).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from parsers import danish, normalize

PARTS = ("ledelseserklaering", "faglig_afrapportering", "regnskab", "revisionsberetning",
         "revisionsprotokollat")
PROFESSIONAL = "faglig_afrapportering"
MAX_PROFESSIONAL_PAGES = Decimal("1.5")

# Folded keywords (lower case, æ/ø/å as ae/oe/aa, punctuation as spaces) per part.
# Checked in this order; the audit documents before the accounts they are about.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("revisionsprotokollat", ("revisionsprotokollat", "protokollat")),
    ("revisionsberetning", ("revisionsberetning", "revisorerklaering", "revisors erklaering",
                            "den uafhaengige revisors", "revisorpaategning")),
    ("ledelseserklaering", ("ledelseserklaering", "ledelsens erklaering", "ledelsespaategning",
                            "ledelsens paategning")),
    ("faglig_afrapportering", ("faglig afrapportering", "faglig rapport", "fagligafrapportering",
                               "faglig")),
    ("regnskab", ("regnskab", "projektregnskab")),
)
# A bare "afrapportering" in a name or heading means the professional report,
# unless something more specific matched.
WEAK = (("faglig_afrapportering", ("afrapportering",)),)

_CVR_RE = re.compile(r"CVR[\s.\-]*(?:nr\.?|nummer)?[\s.:]*((?:\d\s?){7}\d)\b", re.IGNORECASE)


@dataclass
class ReportFile:
    """One attachment of a report and what it was found to be."""

    filename: str | None
    detected_type: str
    parts: list[str] = field(default_factory=list)
    pages: int | None = None
    pages_used: Decimal | None = None
    how: str = ""  # "name", "text" or "" (not recognised)


@dataclass
class ReportReading:
    """What a report mail holds: files with their parts, problems, CVR numbers in the text."""

    files: list[ReportFile]
    problems: list[dict]
    cvrs: list[str]

    @property
    def found(self) -> set[str]:
        """The parts present among the attachments."""
        return {p for f in self.files for p in f.parts}


def find_cvrs(text: str) -> list[str]:
    """Valid CVR numbers written after "CVR" in a text, in order, without repeats."""
    out: list[str] = []
    for m in _CVR_RE.finditer(text or ""):
        cvr = re.sub(r"\s", "", m.group(1))
        if normalize.is_valid_cvr(cvr) and cvr not in out:
            out.append(cvr)
    return out


def parts_in_name(name: str) -> list[str]:
    """Parts a file name names (``Ledelseserklæring.pdf`` → ``["ledelseserklaering"]``)."""
    folded = f" {danish.fold(name)} "
    squashed = folded.replace(" ", "")
    found = [part for part, words in KEYWORDS
             if any(f" {w}" in folded or w.replace(" ", "") in squashed for w in words)]
    if not found:
        found = [part for part, words in WEAK if any(w in squashed for w in words)]
    return found


def part_in_text(text: str, head: int = 400) -> str | None:
    """The part a document's first words announce: the earliest keyword in its heading."""
    folded = danish.fold(text)[:head]
    best: tuple[int, str] | None = None
    for part, words in (*KEYWORDS, *WEAK):
        for w in words:
            i = folded.find(w)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, part)
    return best[1] if best else None


def _pdf_page_count(data: bytes, max_pages: int) -> int:
    """The page count (cheap: pypdf opens lazily). Raises ValueError with a Danish reason."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("filen er beskyttet med adgangskode")
        count = len(reader.pages)
    except ValueError as exc:
        if "adgangskode" in str(exc):
            raise
        raise ValueError(f"PDF-filen er beskadiget ({type(exc).__name__})") from None
    except Exception as exc:  # pypdf raises assorted errors on broken files
        raise ValueError(f"PDF-filen kan ikke åbnes ({type(exc).__name__})") from None
    if count > max_pages:
        raise ValueError(f"filen har {count} sider; grænsen er {max_pages}")
    return count


def _pdf_texts(data: bytes, pages: int) -> list[str]:
    """Text of the first ``pages`` pages; [] if unreadable.

    pypdf rather than pdfplumber: only words and their amount matter here (no
    positions), and pypdf measured 5-10x faster per page on this machine.
    """
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        return [reader.pages[i].extract_text() or "" for i in range(min(pages, len(reader.pages)))]
    except Exception:  # broken content streams: the text is only a help here
        return []


def pages_used(count: int, texts: list[str]) -> Decimal:
    """Pages a document fills, the last page counted by its share of text (see module doc)."""
    if count <= 1:
        return Decimal(count)
    if count > 2 or len(texts) < 2:
        return Decimal(count)
    first = len(re.sub(r"\s", "", texts[0]))
    last = len(re.sub(r"\s", "", texts[1]))
    if first == 0:  # a scan: nothing to measure, count whole pages
        return Decimal(count)
    share = min(Decimal(1), Decimal(last) / Decimal(first))
    return (1 + share).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def read_report(attachments: list[tuple[str | None, bytes, str]], max_pages: int = 200) -> ReportReading:
    """Classify report attachments ``(filename, bytes, detected_type)`` and list what is missing.

    Text is read only where it is needed (a name that says nothing, the length of
    the professional report, a CVR number while none is found yet).
    """
    files: list[ReportFile] = []
    problems: list[dict] = []
    cvrs: list[str] = []
    for filename, data, detected in attachments:
        rf = ReportFile(filename=filename, detected_type=detected)
        rf.parts = parts_in_name(filename or "")
        rf.how = "name" if rf.parts else ""
        files.append(rf)
        if detected != "pdf":
            continue
        try:
            rf.pages = _pdf_page_count(data, max_pages)
        except ValueError as exc:
            problems.append({"code": "report_attachment_unreadable", "field": None,
                             "params": {"filename": filename or "", "reason": str(exc)}})
            continue
        professional = PROFESSIONAL in rf.parts
        if rf.parts and not professional and cvrs:
            continue
        texts = _pdf_texts(data, min(rf.pages, 2 if professional or not rf.parts else 1))
        for cvr in find_cvrs("\n".join(texts)):
            if cvr not in cvrs:
                cvrs.append(cvr)
        if not rf.parts and texts:
            part = part_in_text(texts[0])
            if part:
                rf.parts, rf.how = [part], "text"
                professional = part == PROFESSIONAL
        if professional:
            if rf.pages == 2 and len(texts) < 2:
                texts = _pdf_texts(data, 2)
            rf.pages_used = pages_used(rf.pages, texts)
            if rf.pages_used > MAX_PROFESSIONAL_PAGES:
                problems.append({"code": "report_too_long", "field": PROFESSIONAL, "params": {
                    "filename": filename or "", "pages": str(rf.pages_used).replace(".", ",")}})
    found = {p for f in files for p in f.parts}
    missing = [{"code": f"report_missing_{part}", "field": part, "params": {}}
               for part in PARTS if part not in found]
    return ReportReading(files=files, problems=missing + problems, cvrs=cvrs)
