"""Final reports: which of the required parts the attachments hold. Pure.

What a final report must hold is pool data (``[report]`` of the pool file,
validated by ``intake/pool.py``): a :class:`ReportSpec` with its parts, the
keywords that recognise each part, and the page limit of a part (the
professional report's 1½ pages). Each attachment is classified by its file name
first and, when the name says nothing, by the text at the top of its first page
(only the pages we need are read).

How pages are counted for a part with a page limit: a page that is not the last
counts as one; the last page counts as the share of text it carries compared
with the fullest earlier page (non-blank characters). So a full page plus a
half-filled one is 1.5; a full page plus a page filled to 60 % is 1.6 (the
result is rounded to one decimal first). A document of three or more pages is
counted by its pages without looking further; a scan (no text) is judged by its
page count alone. The reader measures; the rules (``intake/rules/report.py``)
judge what is missing and what is too long.

Problems are :class:`~parsers.codes.Finding`; one code:
``report_attachment_unreadable`` (params ``filename``, ``reason``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from parsers import danish, normalize, pdfguard
from parsers.codes import Finding, ProblemCode, finding
from parsers.limits import DEFAULT, SizeLimits, TooLarge


@dataclass(frozen=True)
class ReportPart:
    """One part a final report must hold (from the pool file)."""

    key: str  # stored in Attachment.parts and as the field of its problems
    name: str  # Danish, as in a sentence: "ledelseserklæring"
    missing: str  # Danish: what we miss when it is not there (a problem text's {what})
    keywords: tuple[str, ...]  # folded (lower case, æ/ø/å as ae/oe/aa)
    weak_keywords: tuple[str, ...] = ()  # count only when no part's keyword matched
    max_pages: Decimal | None = None

    @property
    def label(self) -> str:
        """The name standing alone (a label): ``Ledelseserklæring``."""
        return self.name[:1].upper() + self.name[1:]


@dataclass(frozen=True)
class ReportSpec:
    """The parts of a final report, in the order the report lists them."""

    parts: tuple[ReportPart, ...]
    # The order keywords are tried in: the audit documents before the accounts they are about.
    match_order: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The part keys in report order."""
        return tuple(p.key for p in self.parts)

    def part(self, key: str) -> ReportPart:
        """The part with this key (KeyError if there is none)."""
        for p in self.parts:
            if p.key == key:
                return p
        raise KeyError(key)

    @property
    def matching(self) -> tuple[ReportPart, ...]:
        """The parts in the order their keywords are tried."""
        return tuple(self.part(k) for k in self.match_order)


# One run of separators after "CVR" (and one after "nr"): two runs side by side backtrack in
# quadratic time on "CVR" and a page of spaces (20,000 took 11 s).
_CVR_RE = re.compile(r"CVR[\s.:\-]*(?:(?:nr\.?|nummer)[\s.:\-]*)?((?:\d\s?){7}\d)\b", re.IGNORECASE)


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
    problems: list[Finding]
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


def parts_in_name(name: str, spec: ReportSpec) -> list[str]:
    """Parts a file name names (``Ledelseserklæring.pdf`` → ``["ledelseserklaering"]``)."""
    folded = f" {danish.fold(name)} "
    squashed = folded.replace(" ", "")
    found = [part.key for part in spec.matching
             if any(f" {w}" in folded or w.replace(" ", "") in squashed for w in part.keywords)]
    if not found:
        found = [part.key for part in spec.matching if any(w in squashed for w in part.weak_keywords)]
    return found


def part_in_text(text: str, spec: ReportSpec, head: int = 400) -> str | None:
    """The part a document's first words announce: the earliest keyword in its heading."""
    folded = danish.fold(text)[:head]
    best: tuple[int, str] | None = None
    tries = [(p.key, p.keywords) for p in spec.matching] + [
        (p.key, p.weak_keywords) for p in spec.matching]
    for key, words in tries:
        for w in words:
            i = folded.find(w)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, key)
    return best[1] if best else None


def _too_large_da(exc: TooLarge) -> str:
    """Why a PDF was refused at a size limit, in Danish (a problem's reason)."""
    if exc.what == "objects":
        return f"filen består af {danish.number_da(exc.size)} dele; vi læser højst {danish.number_da(exc.limit)}"
    return f"filen fylder over {danish.size_da(exc.limit)}, når den pakkes ud"


def _pdf_page_count(data: bytes, max_pages: int, sizes: SizeLimits) -> int:
    """The page count (cheap: pypdf opens lazily), after the streams are checked against ``sizes``.
    Raises ValueError with a Danish reason."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("filen er beskyttet med adgangskode")
        pdfguard.check_pdf(data, reader, sizes)
        count = len(reader.pages)
    except TooLarge as exc:
        raise ValueError(_too_large_da(exc)) from None
    except ValueError as exc:
        if "adgangskode" in str(exc):
            raise
        raise ValueError(f"PDF-filen er beskadiget ({type(exc).__name__})") from None
    except MemoryError:  # the reading process's limit, not a broken file: the worker says so
        raise
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


def _measured(parts: list[str], spec: ReportSpec) -> bool:
    """True when one of the parts has a page limit (its pages must be counted)."""
    return any(spec.part(p).max_pages is not None for p in parts)


def read_report(attachments: Sequence[tuple[str | None, bytes, str]], spec: ReportSpec, *,
                max_pages: int = 200, sizes: SizeLimits = DEFAULT) -> ReportReading:
    """Classify report attachments ``(filename, bytes, detected_type)`` by the parts of ``spec``.

    Text is read only where it is needed (a name that says nothing, the length of
    a part with a page limit, a CVR number while none is found yet), and only from a
    PDF whose streams inflate within ``sizes``.
    """
    files: list[ReportFile] = []
    problems: list[Finding] = []
    cvrs: list[str] = []
    for filename, data, detected in attachments:
        rf = ReportFile(filename=filename, detected_type=detected)
        rf.parts = parts_in_name(filename or "", spec)
        rf.how = "name" if rf.parts else ""
        files.append(rf)
        if detected != "pdf":
            continue
        try:
            rf.pages = _pdf_page_count(data, max_pages, sizes)
        except ValueError as exc:
            problems.append(finding(ProblemCode.REPORT_ATTACHMENT_UNREADABLE, None,
                                    filename=filename or "", reason=str(exc)))
            continue
        measured = _measured(rf.parts, spec)
        if rf.parts and not measured and cvrs:
            continue
        texts = _pdf_texts(data, min(rf.pages, 2 if measured or not rf.parts else 1))
        for cvr in find_cvrs("\n".join(texts)):
            if cvr not in cvrs:
                cvrs.append(cvr)
        if not rf.parts and texts:
            part = part_in_text(texts[0], spec)
            if part:
                rf.parts, rf.how = [part], "text"
                measured = _measured(rf.parts, spec)
        if measured:
            if rf.pages == 2 and len(texts) < 2:
                texts = _pdf_texts(data, 2)
            rf.pages_used = pages_used(rf.pages, texts)
    return ReportReading(files=files, problems=problems, cvrs=cvrs)
