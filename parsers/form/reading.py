"""The form reader's entry point: open the PDF, read its fields, else its printed text.

Codes and params of the problems are listed in :mod:`parsers.form`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parsers import danish, normalize, pdfguard
from parsers.codes import Finding, ProblemCode, finding
from parsers.fieldmap import FieldMap, FormField
from parsers.form import labels, pdftext
from parsers.limits import DEFAULT, SizeLimits, TooLarge

if TYPE_CHECKING:
    from pypdf import PdfReader

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
    ocr_text: str | None = None  # a scan's OCR text: for a person to compare, never a value

    def problem(self, code: ProblemCode, field: str | None = None, **params: Any) -> None:
        """Record a problem."""
        self.problems.append(finding(code, field, **params))


# --- entry point -------------------------------------------------------------


def read_application_form(data: bytes, fieldmap: FieldMap, *, max_pages: int,
                          sizes: SizeLimits = DEFAULT) -> FormReading:
    """Read the form's values: AcroForm fields via pypdf, else the page text by label.

    The PDF's streams are inflated with a cap before any page is read (``sizes``)."""
    reading = FormReading()
    try:
        _read(data, fieldmap, max_pages, sizes, reading)
    except MemoryError:  # the reading process's limit, not a broken file: the worker says so
        raise
    except Exception as exc:  # never let a hostile PDF escape as an exception
        reading.values.clear()
        reading.problems = [p for p in reading.problems if p["field"] is None]
        reading.problem(ProblemCode.FORM_CORRUPT, error=type(exc).__name__)
        reading.method = None
    return reading


def _too_large(reading: FormReading, exc: TooLarge) -> None:
    """The problem for a PDF refused at a size limit."""
    if exc.what == "objects":
        reading.problem(ProblemCode.FORM_TOO_MANY_OBJECTS, objects=exc.size, max_objects=exc.limit)
    else:
        reading.problem(ProblemCode.FORM_UNPACKS_TOO_LARGE, size=danish.size_da(exc.size),
                        limit=danish.size_da(exc.limit))


def _read(data: bytes, fm: FieldMap, max_pages: int, sizes: SizeLimits, reading: FormReading) -> None:
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
    try:
        # before pypdf reads a field or pdfplumber a page: every stream inflated with a cap
        pdfguard.check_pdf(data, reader, sizes, content_pages=pages)
    except TooLarge as exc:
        _too_large(reading, exc)
        return
    reading.form_version = _version_from_metadata(reader)

    raw = _field_values(reader, fm)
    reading.recognised = bool(raw)
    if raw and any(v.strip() for v in raw.values()):
        reading.method = "fields"
        lost = any(pdftext.certain_question_letter(v) for v in raw.values())
        for f in fm.fields:
            value = raw.get(f.pdf_field, "")
            # what a viewer stored could not be decoded: not a value we can vouch for
            doubtful = f.type != "choice" and ("\ufffd" in value or pdftext.doubtful(value, lost))
            _store(reading, f, value, f"PDF field '{f.pdf_field}'", from_print=False,
                   unreadable="unmapped" if doubtful else None)
        return

    _read_text(data, fm, pages, reading, _free_text_words(reader))


def _free_text_words(reader: PdfReader) -> dict[int, list[Mapping[str, Any]]]:
    """Text typed onto the page as FreeText annotations ("add text" / typewriter tools),
    as words at the annotation's place, per page number. pdfplumber garbles their
    UTF-16 contents, so pypdf reads them."""
    out: dict[int, list[Mapping[str, Any]]] = {}
    for number, page in enumerate(reader.pages, 1):
        try:
            annots: Any = page.get("/Annots") or []
            page_top = float(page.mediabox.top)
            for ref in annots:
                a = ref.get_object()
                if a.get("/Subtype") != "/FreeText" or not a.get("/Contents"):
                    continue
                x0, y0, x1, y1 = (float(v) for v in a["/Rect"])
                left, right, top = min(x0, x1), max(x0, x1), page_top - max(y0, y1)
                text = str(a["/Contents"]).replace("\r\n", "\n").replace("\r", "\n")
                for i, line in enumerate(t for t in text.split("\n") if t.strip()):
                    out.setdefault(number, []).append({
                        # a viewer wraps the typed text inside the annotation's box
                        "text": line.strip(), "x0": left + 2, "x1": min(left + 2 + 5 * len(line), right),
                        "top": top + 2 + 12 * i, "bottom": top + 12 + 12 * i,
                    })
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed annotation is ignored, the page text still counts
    return out


def _version_from_metadata(reader: PdfReader) -> str | None:
    try:
        meta: Any = reader.metadata or {}
        subject = str(meta.get("/Subject") or "") + " " + str(meta.get("/Keywords") or "")
    except Exception:  # broken metadata does not matter for the values
        return None
    m = re.search(r"form_version=([0-9][0-9.]*)", subject)
    return m[1] if m else None


def _field_values(reader: PdfReader, fm: FieldMap) -> dict[str, str]:
    """Values of the map's fields present in the PDF (pdf_field -> text); {} if none."""
    fields: Mapping[str, Any] = reader.get_fields() or {}
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


def _store(reading: FormReading, f: FormField, raw: str, source: str, *, from_print: bool,
           unreadable: str | None = None) -> None:
    """Normalise one raw value; record it or the problem with it. ``unreadable`` says why
    a value that is there cannot be taken (it is then never normalised or exported)."""
    raw = raw or ""
    if f.type == "choice" and from_print:
        # Ticks are graphics: a print cannot tell which option was chosen. A person looks,
        # unless the text names exactly one option and nothing else.
        try:
            chosen = _choice(f, raw) if raw.strip() and not unreadable else None
        except ValueError:
            chosen = None
        if chosen is None:
            reading.problem(ProblemCode.FIELD_NEEDS_REVIEW, f.key, label=f.label, reason="printed_choice")
            return
        reading.values[f.key] = {"value": chosen, "raw": raw, "source": source}
        return
    if unreadable:
        reading.problem(ProblemCode.FIELD_UNREADABLE, f.key, label=f.label, reason=unreadable)
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


def _version_from_text(lines: list[pdftext.Line]) -> str | None:
    for line in lines[:80]:
        if m := re.search(r"\bversion\s*([0-9]+(?:\.[0-9]+)*)", line.text(), re.I):
            return m[1]
    return None


def _extract(data: bytes, pages: int, reading: FormReading,
             typed: Mapping[int, list[Mapping[str, Any]]]) -> pdftext.PageText | None:
    try:
        return pdftext.extract(data, pages, typed)
    except MemoryError:  # the reading process's limit, not a broken file: the worker says so
        raise
    except Exception as exc:  # pdfminer raises many kinds; the cause is in args[0]
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if "password" in type(cause).__name__.lower() or "encrypt" in str(cause).lower():
            reading.problem(ProblemCode.FORM_ENCRYPTED)
        else:
            reading.problem(ProblemCode.FORM_CORRUPT, error=type(cause).__name__)
        return None


def _read_text(data: bytes, fm: FieldMap, pages: int, reading: FormReading,
               typed: Mapping[int, list[Mapping[str, Any]]]) -> None:
    pt = _extract(data, pages, reading, typed)
    if pt is None:
        return
    if pt.chars == 0:
        reading.problem(ProblemCode.FORM_SCANNED, pages=pages)
        return
    if pt.unmapped * 2 > pt.chars:
        # Fonts without a character map (some print drivers): glyphs but no letters.
        reading.problem(ProblemCode.FORM_TEXT_UNREADABLE, pages=pages)
        return
    reading.form_version = reading.form_version or _version_from_text(pt.lines)
    found = labels.find_labels(pt.lines, fm)
    reading.recognised = bool(found)
    if pt.ocr_pages:
        # A scanner's OCR may misread a digit and still look valid: handled like a scan.
        reading.problem(ProblemCode.FORM_OCR_LAYER, pages=pt.ocr_pages)
        reading.ocr_text = pt.ocr_text()
        return
    if not found:
        reading.problem(ProblemCode.FORM_NOT_RECOGNISED, pages=pages)
        return
    lost = pt.unmapped or pt.letters_lost
    if lost and (len(found) < len(fm.fields) or not any(hit.exact for hit in found.values())):
        # A label we cannot place may be one with lost letters, so no value has a known end;
        # and labels none of which is whole are no labels to trust.
        reading.problem(ProblemCode.FORM_TEXT_UNREADABLE, pages=pages)
        return

    printed = labels.values(pt, fm, found)
    if not any(v.text.strip() for k, v in printed.items() if fm.field(k).type != "choice"):
        if pt.images:
            reading.problem(ProblemCode.FORM_SCANNED, pages=pages)
        else:
            reading.problem(ProblemCode.FORM_EMPTY)
        return

    reading.method = "text"
    for f in fm.fields:
        value = printed.get(f.key)
        if value is None:
            if f.type == "choice":
                _store(reading, f, "", "", from_print=True)
            else:
                reading.problem(ProblemCode.FIELD_LABEL_NOT_FOUND, f.key, label=f.label)
            continue
        source = f"label '{f.label}' on page {value.page}"
        _store(reading, f, value.text, source, from_print=True, unreadable=value.unreadable)
