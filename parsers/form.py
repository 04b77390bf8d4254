"""Read the application form (PDF): fillable fields first, then the printed text by label.

Pure: bytes and the field map in, a :class:`FormReading` out. Never raises.

Stable API::

    read_application_form(data: bytes, fieldmap: FieldMap, *, max_pages: int) -> FormReading
    FormReading.values   # {key: {"value": <normalised>, "raw": str, "source": str}}
    FormReading.problems # [{"code": str, "field": str | None, "params": dict}]
    FormReading.method   # "fields" | "text" | None
    FormReading.form_version  # "1.0" when the document names its version, else None
    FormReading.pages    # page count, None if unknown
    FormReading.recognised  # True when our fields or labels were found (even if all empty):
                            #   use it to pick the application form among several PDFs

Problem codes and their params (Danish texts live in config/problems.da.toml):

==========================  ==========  ==============================================
code                        field       params
==========================  ==========  ==============================================
form_corrupt                None        {"error": exception class name}
form_encrypted              None        {}
form_too_many_pages         None        {"pages": int, "max_pages": int}
form_scanned                None        {"pages": int}  (no text: a scan or photo)
form_empty                  None        {}  (the labels are there, every field empty)
form_not_recognised         None        {"pages": int}  (text, but none of our labels)
form_text_unreadable        None        {"pages": int}  (glyphs without letters: fonts
                                        with no character map; a person reads it)
form_ocr_layer              None        {"pages": int}  (pages are scanned pictures; the
                                        values come from the scanner's OCR text and are
                                        read, but a person should compare them: a warning)
field_missing               key         {"label": str}  (a required field is empty)
field_malformed             key         {"label": str, "raw": str, "reason": str}
cvr_check_digit             "cvr"       {"label": str, "raw": str, "reason": str}
municipality_unknown        key         {"label": str, "raw": str, "reason": str}
field_needs_review          key         {"label": str, "reason": "printed_choice"}
                                        (a radio button in a print: a person looks)
==========================  ==========  ==============================================

Reading by label (DESIGN.md): pdfplumber word positions with ``x_tolerance`` 3,
plus text typed onto the page as FreeText annotations (read with pypdf);
a label is a line that starts with the label's words at the left margin; its
value is the text to the right of it and the following lines until the next
label or one of the map's ``stop_texts``. Pages are closed as soon as they are
read, so memory stays bounded.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from parsers import normalize
from parsers.codes import Finding, ProblemCode, finding
from parsers.fieldmap import FieldMap, FormField

_LEFT_MARGIN_SLACK = 30.0  # a label starts this close to the leftmost text of its page
_VALUE_GAP = 8.0  # a value beside a label is set apart by more than a space
_RAW_LIMIT = 300  # characters of a bad value quoted back in a problem


@dataclass
class FormReading:
    """What the application form says, with problems found while reading it."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    method: str | None = None
    form_version: str | None = None
    pages: int | None = None
    recognised: bool = False

    def problem(self, code: ProblemCode, field: str | None = None, **params: Any) -> None:
        """Record a problem."""
        self.problems.append(finding(code, field, **params))


# --- entry point -------------------------------------------------------------


def read_application_form(data: bytes, fieldmap: FieldMap, *, max_pages: int) -> FormReading:
    """Read the form's values: AcroForm fields via pypdf, else the page text by label."""
    reading = FormReading()
    try:
        _read(data, fieldmap, max_pages, reading)
    except Exception as exc:  # never let a hostile PDF escape as an exception
        reading.values.clear()
        reading.problems = [p for p in reading.problems if p["field"] is None]
        reading.problem(ProblemCode.FORM_CORRUPT, error=type(exc).__name__)
        reading.method = None
    return reading


def _read(data: bytes, fm: FieldMap, max_pages: int, reading: FormReading) -> None:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    reading.problem(ProblemCode.FORM_ENCRYPTED)
                    return
            except (DependencyError, NotImplementedError):
                reading.problem(ProblemCode.FORM_ENCRYPTED)
                return
        pages = len(reader.pages)
    except FileNotDecryptedError:
        reading.problem(ProblemCode.FORM_ENCRYPTED)
        return
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        reading.problem(ProblemCode.FORM_CORRUPT, error=type(exc).__name__)
        return
    reading.pages = pages
    if pages > max_pages:
        reading.problem(ProblemCode.FORM_TOO_MANY_PAGES, pages=pages, max_pages=max_pages)
        return
    if pages == 0:
        reading.problem(ProblemCode.FORM_CORRUPT, error="no pages")
        return
    reading.form_version = _version_from_metadata(reader)

    raw = _field_values(reader, fm)
    reading.recognised = bool(raw)
    if raw and any(v.strip() for v in raw.values()):
        reading.method = "fields"
        for f in fm.fields:
            _store(reading, f, raw.get(f.pdf_field, ""), f"PDF field '{f.pdf_field}'", from_print=False)
        return

    _read_text(data, fm, pages, reading, _free_text_words(reader))


def _free_text_words(reader) -> dict[int, list[dict]]:
    """Text typed onto the page as FreeText annotations ("add text" / typewriter tools),
    as words at the annotation's place, per page number. pdfplumber garbles their
    UTF-16 contents, so pypdf reads them."""
    out: dict[int, list[dict]] = {}
    for number, page in enumerate(reader.pages, 1):
        try:
            annots = page.get("/Annots") or []
            page_top = float(page.mediabox.top)
            for ref in annots:
                a = ref.get_object()
                if a.get("/Subtype") != "/FreeText" or not a.get("/Contents"):
                    continue
                x0, y0, x1, y1 = (float(v) for v in a["/Rect"])
                left, top = min(x0, x1), page_top - max(y0, y1)
                text = str(a["/Contents"]).replace("\r\n", "\n").replace("\r", "\n")
                for i, line in enumerate(t for t in text.split("\n") if t.strip()):
                    out.setdefault(number, []).append({
                        "text": line.strip(), "x0": left + 2, "x1": left + 2 + 5 * len(line),
                        "top": top + 2 + 12 * i, "bottom": top + 12 + 12 * i,
                    })
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed annotation is ignored, the page text still counts
    return out


def _version_from_metadata(reader) -> str | None:
    try:
        meta = reader.metadata or {}
        subject = str(meta.get("/Subject") or "") + " " + str(meta.get("/Keywords") or "")
    except Exception:  # broken metadata does not matter for the values
        return None
    m = re.search(r"form_version=([0-9][0-9.]*)", subject)
    return m[1] if m else None


def _field_values(reader, fm: FieldMap) -> dict[str, str]:
    """Values of the map's fields present in the PDF (pdf_field -> text); {} if none."""
    fields = reader.get_fields() or {}
    choices = {f.pdf_field for f in fm.fields if f.type == "choice"}
    wanted = {f.pdf_field for f in fm.fields}
    out: dict[str, str] = {}
    for name, spec in fields.items():
        short = name.rsplit(".", 1)[-1]
        key = name if name in wanted else short if short in wanted else None
        if key is None:
            continue
        value = spec.get("/V") if hasattr(spec, "get") else None
        is_button = key in choices or (hasattr(spec, "get") and spec.get("/FT") == "/Btn")
        out[key] = _field_text(value, is_button)
    return out


def _field_text(value: Any, is_button: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(_field_text(v, is_button) for v in value)
    text = str(value)
    if is_button:  # a radio/checkbox value is a PDF name, sometimes given as text "/Name"
        text = text.removeprefix("/")
        if text == "Off":
            return ""
    return text


# --- values --------------------------------------------------------------------


def _choice(f: FormField, raw: str) -> str:
    return normalize.choice(raw, f.options)


def _store(reading: FormReading, f: FormField, raw: str, source: str, *, from_print: bool) -> None:
    """Normalise one raw value; record it or the problem with it."""
    raw = raw or ""
    if f.type == "choice" and from_print:
        # Ticks are graphics: a print cannot tell which option was chosen. A person looks,
        # unless the text names exactly one option and nothing else.
        try:
            value = _choice(f, raw) if raw.strip() else None
        except ValueError:
            value = None
        if value is None:
            reading.problem(ProblemCode.FIELD_NEEDS_REVIEW, f.key, label=f.label, reason="printed_choice")
            return
        reading.values[f.key] = {"value": value, "raw": raw, "source": source}
        return
    if not raw.strip():
        if f.required:
            reading.problem(ProblemCode.FIELD_MISSING, f.key, label=f.label)
        return
    try:
        value = _choice(f, raw) if f.type == "choice" else normalize.normalize(f.type, raw)
    except ValueError as exc:
        code = getattr(exc, "code", ProblemCode.FIELD_MALFORMED)
        reading.problem(code, f.key, label=f.label, raw=raw[:_RAW_LIMIT], reason=str(exc))
        return
    reading.values[f.key] = {"value": value, "raw": raw, "source": source}


# --- reading the text by label -------------------------------------------------


@dataclass
class _Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class _Line:
    page: int  # 1-based
    words: list[_Word]

    @property
    def x0(self) -> float:
        return self.words[0].x0


def _norm(text: str) -> str:
    """Compare printed text without case and spaces: a print without space characters
    merges words that a narrow gap separates ("Puljetilsociale...")."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _lines_of(words: list[dict], page: int) -> list[_Line]:
    """Group words into lines: a word joins a line when its middle lies within the line's height."""
    lines: list[tuple[float, float, list[_Word]]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        word = _Word(w["text"], float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"]))
        mid = (word.top + word.bottom) / 2
        for i, (top, bottom, members) in enumerate(lines):
            if top - 1 <= mid <= bottom + 1:
                members.append(word)
                lines[i] = (min(top, word.top), max(bottom, word.bottom), members)
                break
        else:
            lines.append((word.top, word.bottom, [word]))
    out = []
    for _, _, members in sorted(lines, key=lambda x: x[0]):
        out.append(_Line(page, sorted(members, key=lambda w: w.x0)))
    return out


def _covered_by_image(page) -> bool:
    """A page-sized picture: what a scanner makes (its OCR text, if any, lies on top)."""
    area = float(page.width) * float(page.height) or 1.0
    return any((float(i["x1"]) - float(i["x0"])) * (float(i["bottom"]) - float(i["top"])) >= 0.7 * area
               for i in page.images)


def _extract_lines(data: bytes, pages: int, reading: FormReading, extra: dict[int, list[dict]]
                   ) -> tuple[list[_Line], int, bool, int] | None:
    """All text lines, the character count, whether any page has images and how many pages
    are covered by a page-sized picture; None on failure."""
    import pdfplumber

    lines: list[_Line] = []
    chars = 0
    unmapped = 0
    images = False
    scanned_pages = 0
    try:
        with pdfplumber.open(io.BytesIO(data), pages=list(range(1, pages + 1)), password="") as pdf:
            for number, page in enumerate(pdf.pages, 1):
                try:
                    chars += len(page.chars)
                    unmapped += sum(1 for ch in page.chars if ch.get("text", "").startswith("(cid:"))
                    images = images or bool(page.images)
                    scanned_pages += _covered_by_image(page)
                    words = page.extract_words(x_tolerance=3, y_tolerance=3, keep_blank_chars=False)
                    typed = extra.get(number, [])
                    chars += sum(len(w["text"]) for w in typed)
                    lines.extend(_lines_of(words + typed, number))
                finally:
                    page.close()
    except Exception as exc:  # pdfminer raises many kinds; the cause is in args[0]
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if "password" in type(cause).__name__.lower() or "encrypt" in str(cause).lower():
            reading.problem(ProblemCode.FORM_ENCRYPTED)
        else:
            reading.problem(ProblemCode.FORM_CORRUPT, error=type(cause).__name__)
        return None
    if chars and unmapped * 2 > chars:
        # Fonts without a character map (some print drivers): glyphs but no letters.
        reading.problem(ProblemCode.FORM_TEXT_UNREADABLE, pages=pages)
        return None
    return lines, chars, images, scanned_pages


def _page_left(lines: list[_Line]) -> dict[int, float]:
    left: dict[int, float] = {}
    for line in lines:
        left[line.page] = min(left.get(line.page, line.x0), line.x0)
    return left


def _prefix_words(line: _Line, wanted: str) -> int | None:
    """How many whole words at the start of the line spell ``wanted`` (normalised), else None.
    A trailing colon on the last of them is allowed; a word that runs on does not count,
    so "Kommunen" is not the label "Kommune"."""
    spelled = ""
    for n, word in enumerate(line.words, 1):
        spelled += _norm(word.text)
        if spelled == wanted or (spelled.endswith(":") and spelled[:-1] == wanted):
            return n
        if not wanted.startswith(spelled):
            return None
    return None


def _label_words(line: _Line, wanted: str, left: dict[int, float]) -> int | None:
    """Words taken by the label if the line is that label's line: it begins with the label,
    at the left margin, and any value beside it is set apart by a gap or a colon."""
    if line.x0 > left[line.page] + _LEFT_MARGIN_SLACK:
        return None
    n = _prefix_words(line, wanted)
    if n is None or n == len(line.words):
        return n
    last = line.words[n - 1]
    if last.text.endswith(":") or line.words[n].x0 - last.x1 > _VALUE_GAP:
        return n
    return None


def _far_apart(above: _Line, below: _Line) -> bool:
    """True when ``below`` is on another page or more than about two empty lines lower."""
    if above.page != below.page:
        return True
    top = min(w.top for w in above.words)
    bottom = max(w.bottom for w in above.words)
    return min(w.top for w in below.words) - bottom > 2.5 * max(bottom - top, 1.0)


def _version_from_text(lines: list[_Line]) -> str | None:
    for line in lines[:80]:
        text = " ".join(w.text for w in line.words)
        if m := re.search(r"\bversion\s*([0-9]+(?:\.[0-9]+)*)", text, re.I):
            return m[1]
    return None


def _read_text(data: bytes, fm: FieldMap, pages: int, reading: FormReading,
               typed: dict[int, list[dict]]) -> None:
    extracted = _extract_lines(data, pages, reading, typed)
    if extracted is None:
        return
    lines, chars, images, scanned_pages = extracted
    if chars == 0:
        reading.problem(ProblemCode.FORM_SCANNED, pages=pages)
        return
    reading.form_version = reading.form_version or _version_from_text(lines)
    left = _page_left(lines)
    labels = {f.key: _norm(f.label) for f in fm.fields}
    stops = [_norm(t) for t in fm.stop_texts]

    # Find each label's line, in form order first, then anywhere not yet taken.
    found: dict[str, tuple[int, int]] = {}  # key -> (line index, words the label takes)
    taken: set[int] = set()
    pos = 0
    for f in fm.fields:
        for start in (pos, 0):
            hit = next(((i, n) for i in range(start, len(lines)) if i not in taken
                        and (n := _label_words(lines[i], labels[f.key], left)) is not None), None)
            if hit is not None:
                found[f.key] = hit
                taken.add(hit[0])
                pos = hit[0] + 1
                break
    if not found:
        reading.problem(ProblemCode.FORM_NOT_RECOGNISED, pages=pages)
        return
    reading.recognised = True

    boundaries = set(taken)
    for i, line in enumerate(lines):
        spelled = _norm("".join(w.text for w in line.words))
        if any(spelled.startswith(stop) for stop in stops):
            boundaries.add(i)

    raw: dict[str, str] = {}
    for f in fm.fields:
        if f.key not in found:
            continue
        i, taken_words = found[f.key]
        parts = [" ".join(w.text for w in lines[i].words[taken_words:])]
        j = i + 1
        while j < len(lines) and j not in boundaries:
            if not f.multiline and _far_apart(lines[j - 1], lines[j]):
                break  # a one-line value does not jump pages or gaps (page headers, footers)
            parts.append(" ".join(w.text for w in lines[j].words))
            j += 1
        parts = [p for p in parts if p.strip()]
        raw[f.key] = ("\n" if f.multiline else " ").join(parts)

    if not any(raw.get(f.key, "").strip() for f in fm.fields if f.type != "choice"):
        reading.problem(ProblemCode.FORM_SCANNED if images else ProblemCode.FORM_EMPTY, **({"pages": pages} if images else {}))
        return

    reading.method = "text"
    if scanned_pages:
        # The text is a scanner's OCR layer: it may misread a digit and still look valid.
        reading.problem(ProblemCode.FORM_OCR_LAYER, pages=scanned_pages)
    for f in fm.fields:
        page = lines[found[f.key][0]].page if f.key in found else None
        source = f"label '{f.label}' on page {page}"
        _store(reading, f, raw.get(f.key, ""), source, from_print=True)
