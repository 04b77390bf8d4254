"""The printed text of a PDF as positioned words, lines and drawn boxes, with what is doubtful.

pdfplumber gives the words (``x_tolerance`` 3, DESIGN.md) and the drawn
rectangles; each word records whether it holds glyphs without letters
(``(cid:N)``, U+FFFD) and whether it lies outside its page. Nothing here
decides what a value is: that is :mod:`parsers.form.labels`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_CID = re.compile(r"\(cid:\d+\)")
# A "?" standing for a letter a font could not encode: before a letter ("S?ndergade",
# "?byh?j"), doubled, or alone where a dash was ("SAND ? De").
_Q_CERTAIN = re.compile(r"\?(?=[^\W\d_]|\?)|(?:^|(?<=\s))\?(?=\s|$)")
# A "?" after a letter at the end of a word: a question mark, unless the document shows
# letters turned into "?" elsewhere ("p?", "Bl?").
_Q_AFTER_LETTER = re.compile(r"(?<=[^\W\d_])\?")
OCR_FONTS = ("glyphlessfont",)  # tesseract's invisible text layer
_PAGE_SLACK = 0.5  # points a glyph may stick out of the page before it counts as outside


def unmapped(text: str) -> bool:
    """True when ``text`` holds a glyph without a letter: ``(cid:N)`` or U+FFFD."""
    return "\ufffd" in text or _CID.search(text) is not None


def certain_question_letter(text: str) -> bool:
    """True when a ``?`` in ``text`` can only be a letter a font could not encode."""
    return _Q_CERTAIN.search(text) is not None


def doubtful(text: str, letters_lost: bool) -> bool:
    """True when ``text`` cannot be taken as written: unmapped glyphs or a "?" for a letter.

    ``letters_lost``: the document shows letters turned into "?" elsewhere, so a "?" after
    a letter is one too.
    """
    if unmapped(text) or certain_question_letter(text):
        return True
    return letters_lost and _Q_AFTER_LETTER.search(text) is not None


@dataclass(frozen=True)
class Word:
    """One word where it is printed (points from the page's top left)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    outside: bool = False  # (partly) outside the page: not read, the value is cut

    @property
    def middle(self) -> float:
        """The vertical middle of the word."""
        return (self.top + self.bottom) / 2


@dataclass
class Line:
    """Words that share a line on one page, left to right."""

    page: int  # 1-based
    words: list[Word]

    @property
    def x0(self) -> float:
        """Where the line starts."""
        return self.words[0].x0

    @property
    def top(self) -> float:
        """The top of the line's highest word."""
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        """The bottom of the line's lowest word."""
        return max(w.bottom for w in self.words)

    def text(self, start: int = 0) -> str:
        """The line's words from ``start`` joined by spaces, leaving out words outside the page."""
        return " ".join(w.text for w in self.words[start:] if not w.outside)


@dataclass(frozen=True)
class Box:
    """A drawn rectangle that can hold a value (a form field's box in a print)."""

    page: int
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class PageText:
    """Everything read from the pages' text."""

    lines: list[Line] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    chars: int = 0
    unmapped: int = 0
    images: bool = False
    ocr_pages: int = 0  # pages that are a scanned picture with a text layer on top
    letters_lost: bool = False  # some "?" certainly stands for a letter

    def ocr_text(self, limit: int = 4000) -> str:
        """The text as it stands, line by line (a scan's OCR: a hint, never a value)."""
        return "\n".join(line.text() for line in self.lines)[:limit]


def lines_of(words: Iterable[Word], page: int) -> list[Line]:
    """Group words into lines: a word joins a line when its middle lies within the line's height."""
    groups: list[tuple[float, float, list[Word]]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        for i, (top, bottom, members) in enumerate(groups):
            if top - 1 <= word.middle <= bottom + 1:
                members.append(word)
                groups[i] = (min(top, word.top), max(bottom, word.bottom), members)
                break
        else:
            groups.append((word.top, word.bottom, [word]))
    return [Line(page, sorted(members, key=lambda w: w.x0))
            for _, _, members in sorted(groups, key=lambda g: g[0])]


def _covered_by_image(page: Any) -> bool:
    """A page-sized picture: what a scanner makes (its OCR text, if any, lies on top)."""
    area = float(page.width) * float(page.height) or 1.0
    return any((float(i["x1"]) - float(i["x0"])) * (float(i["bottom"]) - float(i["top"])) >= 0.7 * area
               for i in page.images)


def _boxes(page: Any, number: int) -> list[Box]:
    """Drawn rectangles big enough to hold a line of text, without near duplicates
    (a field's fill and its border are two rectangles)."""
    out: list[Box] = []
    height = float(page.height)
    for r in page.rects:
        x0, x1, top, bottom = (float(r[k]) for k in ("x0", "x1", "top", "bottom"))
        if x1 - x0 < 20 or not 8 <= bottom - top <= 0.8 * height:
            continue
        box = Box(number, x0, x1, top, bottom)
        if not any(abs(b.x0 - x0) < 2 and abs(b.x1 - x1) < 2 and abs(b.top - top) < 2
                   and abs(b.bottom - bottom) < 2 for b in out):
            out.append(box)
    return out


def _words(page: Any, number: int, typed: list[Mapping[str, Any]]) -> list[Word]:
    width, height = float(page.width), float(page.height)
    out = []
    for w in [*page.extract_words(x_tolerance=3, y_tolerance=3, keep_blank_chars=False), *typed]:
        x0, x1, top, bottom = (float(w[k]) for k in ("x0", "x1", "top", "bottom"))
        outside = (x0 < -_PAGE_SLACK or top < -_PAGE_SLACK or x1 > width + _PAGE_SLACK
                   or bottom > height + _PAGE_SLACK)
        out.append(Word(str(w["text"]), x0, x1, top, bottom, outside))
    return out


def extract(data: bytes, pages: int, typed: Mapping[int, list[Mapping[str, Any]]]) -> PageText:
    """Words, lines and boxes of every page, plus ``typed`` words (FreeText annotations) per
    page number. Raises what pdfplumber raises; the caller turns that into a problem."""
    import pdfplumber

    out = PageText()
    with pdfplumber.open(io.BytesIO(data), pages=list(range(1, pages + 1)), password="") as pdf:
        for number, page in enumerate(pdf.pages, 1):
            try:
                chars = page.chars
                out.chars += len(chars)
                out.unmapped += sum(1 for ch in chars if unmapped(str(ch.get("text", ""))))
                out.images = out.images or bool(page.images)
                glyphless = any(str(ch.get("fontname", "")).split("+")[-1].casefold() in OCR_FONTS
                                for ch in chars)
                out.ocr_pages += bool(chars) and (glyphless or _covered_by_image(page))
                extra = typed.get(number, [])
                out.chars += sum(len(str(w["text"])) for w in extra)
                out.lines.extend(lines_of(_words(page, number, extra), number))
                out.boxes.extend(_boxes(page, number))
            finally:
                page.close()
    out.letters_lost = any(certain_question_letter(w.text) for line in out.lines for w in line.words)
    return out
