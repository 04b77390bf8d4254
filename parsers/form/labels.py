"""Find the field map's labels in a printed form and the text that belongs to each.

A label is a line at the left margin that starts with the label's words; a
glyph without a letter (``(cid:N)``, U+FFFD, ``?``) matches any one letter, so
a label with a lost "å" is still found, but marked inexact: its value is not
trusted. The value is the text inside the field's drawn box when the print
shows one (text running past the box, or stopping at its edge, is clipped),
else the text right of the label and on the following lines up to the next
label or stop text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from parsers.fieldmap import FieldMap, FormField
from parsers.form.pdftext import Box, Line, PageText, Word, doubtful, lines_of

WILD = "\x00"  # a glyph without a letter: matches any one character
_CID = re.compile(r"\(cid:\d+\)")
_LEFT_MARGIN_SLACK = 30.0  # a label starts this close to the leftmost text of its page
_VALUE_GAP = 8.0  # a value beside a label is set apart by more than a space
_EDGE = 3.0  # text ending this close to a one-line box's right edge may be cut there
_MIN_READABLE = 2 / 3  # share of a label's letters that must be readable to find it


def norm(text: str) -> str:
    """Printed text compared without case and spaces (a print without space characters
    merges words: "Puljetilsociale..."); glyphs without letters become :data:`WILD`."""
    text = _CID.sub(WILD, text).replace("\ufffd", WILD).replace("?", WILD)
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _same(spelled: str, wanted: str) -> bool:
    return len(spelled) == len(wanted) and all(a in (b, WILD) for a, b in zip(spelled, wanted, strict=True))


def _starts(spelled: str, wanted: str) -> bool:
    return len(spelled) <= len(wanted) and _same(spelled, wanted[: len(spelled)])


def _begins_with(spelled: str, wanted: str) -> bool:
    """``spelled`` starts with ``wanted`` (glyphs without letters in ``spelled`` match any)."""
    return len(spelled) >= len(wanted) and _same(spelled[: len(wanted)], wanted)


def _readable_enough(spelled: str) -> bool:
    return len(spelled) - spelled.count(WILD) >= _MIN_READABLE * len(spelled)


@dataclass(frozen=True)
class LabelHit:
    """Where a label was found: its line, how many words it takes, and whether every
    letter of it was readable."""

    line: int
    words: int
    exact: bool


def prefix_words(line: Line, wanted: str) -> tuple[int, bool] | None:
    """How many whole words at the start of the line spell ``wanted`` (normalised), and
    whether without a glyph standing in; else None. A trailing colon on the last of them
    is allowed; a word that runs on does not count, so "Kommunen" is not "Kommune"."""
    spelled = ""
    for n, word in enumerate(line.words, 1):
        spelled += norm(word.text)
        for candidate in (spelled, spelled[:-1] if spelled.endswith(":") else None):
            if candidate is not None and _same(candidate, wanted) and _readable_enough(candidate):
                return n, WILD not in candidate
        if not _starts(spelled, wanted):
            return None
    return None


def page_left(lines: list[Line]) -> dict[int, float]:
    """The leftmost text of each page."""
    left: dict[int, float] = {}
    for line in lines:
        left[line.page] = min(left.get(line.page, line.x0), line.x0)
    return left


def _label_words(line: Line, wanted: str, left: dict[int, float]) -> tuple[int, bool] | None:
    """Words taken by the label if the line is that label's line: it begins with the label,
    at the left margin, and any value beside it is set apart by a gap or a colon."""
    if line.x0 > left[line.page] + _LEFT_MARGIN_SLACK:
        return None
    hit = prefix_words(line, wanted)
    if hit is None or hit[0] == len(line.words):
        return hit
    last = line.words[hit[0] - 1]
    if last.text.endswith(":") or line.words[hit[0]].x0 - last.x1 > _VALUE_GAP:
        return hit
    return None


def find_labels(lines: list[Line], fm: FieldMap) -> dict[str, LabelHit]:
    """Each label's line, in form order first, then anywhere not yet taken. A line that a
    partly unreadable label shares with another label is nobody's."""
    left = page_left(lines)
    labels = {f.key: norm(f.label) for f in fm.fields}
    found: dict[str, LabelHit] = {}
    taken: set[int] = set()
    pos = 0
    for f in fm.fields:
        for start in (pos, 0):
            hit = None
            for i in range(start, len(lines)):
                if i in taken or (m := _label_words(lines[i], labels[f.key], left)) is None:
                    continue
                if not m[1] and any(k != f.key and prefix_words(lines[i], w) for k, w in labels.items()):
                    continue  # ambiguous once letters are lost
                hit = LabelHit(i, m[0], m[1])
                break
            if hit is not None:
                found[f.key] = hit
                taken.add(hit.line)
                pos = hit.line + 1
                break
    return found


def boundaries(lines: list[Line], fm: FieldMap, found: dict[str, LabelHit]) -> set[int]:
    """Lines where a value ends: the labels' lines and lines starting with a stop text."""
    out = {hit.line for hit in found.values()}
    stops = [norm(t) for t in fm.stop_texts]
    for i, line in enumerate(lines):
        spelled = norm("".join(w.text for w in line.words))
        if any(_begins_with(spelled, stop) for stop in stops):
            out.add(i)
    return out


@dataclass
class Value:
    """The printed text of one field and what makes it doubtful."""

    text: str
    page: int
    unreadable: str | None = None  # why it cannot be taken: see FormReading's codes


def _single_box(pt: PageText, line: Line, n: int) -> Box | None:
    label = line.words[:n]
    end, mid = label[-1].x1, (min(w.top for w in label) + max(w.bottom for w in label)) / 2
    boxes = [b for b in pt.boxes if b.page == line.page and b.top - 1 <= mid <= b.bottom + 1
             and b.x0 >= end - 1]
    return min(boxes, key=lambda b: b.x0, default=None)


def _multi_box(pt: PageText, line: Line) -> Box | None:
    boxes = [b for b in pt.boxes if b.page == line.page and line.bottom - 2 <= b.top <= line.bottom + 30
             and b.x0 <= line.x0 + 15 and b.x1 - b.x0 >= 100]
    return min(boxes, key=lambda b: b.top, default=None)


def _clipped_in_box(words: list[Word], box: Box, multiline: bool, below: list[Word]) -> bool:
    """True when text runs past the box, stops at its edge, or goes on below it."""
    if any(w.outside for w in words) or below:
        return True
    if not words:
        return False
    if not multiline:
        return max(w.x1 for w in words) > box.x1 - _EDGE
    if any(w.x1 > box.x1 - 1 or w.bottom > box.bottom + 0.5 or w.top < box.top - 0.5 for w in words):
        return True
    last = max(words, key=lambda w: w.bottom)
    return box.bottom - last.bottom < last.bottom - last.top  # no room left for another line


def _in_box(pt: PageText, fm_field: FormField, lines: list[Line], hit: LabelHit, box: Box,
            ends: set[int]) -> Value:
    label_words = {id(w) for w in lines[hit.line].words[: hit.words]}
    page_lines = [(i, line) for i, line in enumerate(lines) if line.page == box.page]
    words = [w for _, line in page_lines for w in line.words if id(w) not in label_words
             and box.top <= w.middle <= box.bottom and w.x0 >= box.x0 - 1]
    below: list[Word] = []
    if fm_field.multiline:
        limit = min((line.top for i, line in page_lines if i in ends and line.top > box.bottom),
                    default=float("inf"))
        below = [w for i, line in page_lines if i not in ends for w in line.words
                 if w.middle > box.bottom and w.top < limit and w.x0 >= box.x0 - 1]
    text_lines = [line.text() for line in lines_of(words, box.page)]
    text = ("\n" if fm_field.multiline else " ").join(t for t in text_lines if t.strip())
    value = Value(text, box.page)
    if _clipped_in_box(words, box, fm_field.multiline, below):
        value.unreadable = "clipped"
    elif any(doubtful(w.text, pt.letters_lost) for w in words):
        value.unreadable = "unmapped"
    return value


def _far_apart(above: Line, below: Line) -> bool:
    """True when ``below`` is on another page or more than about two empty lines lower."""
    if above.page != below.page:
        return True
    return below.top - above.bottom > 2.5 * max(above.bottom - above.top, 1.0)


def _by_lines(pt: PageText, f: FormField, lines: list[Line], hit: LabelHit, ends: set[int],
              missing: list[str], next_missing: bool) -> Value:
    taken = [(lines[hit.line], hit.words)]
    j = hit.line + 1
    while j < len(lines) and j not in ends:
        if not f.multiline and _far_apart(lines[j - 1], lines[j]):
            break  # a one-line value does not jump pages or gaps (page headers, footers)
        taken.append((lines[j], 0))
        j += 1
    parts = [line.text(start) for line, start in taken]
    value = Value(("\n" if f.multiline else " ").join(p for p in parts if p.strip()), taken[0][0].page)
    words = [w for line, start in taken for w in line.words[start:]]
    if any(w.outside for w in words):
        value.unreadable = "clipped"
    elif any(doubtful(w.text, pt.letters_lost) for w in words):
        value.unreadable = "unmapped"
    elif any(line.text().strip() for line, _ in taken[1:]) and (next_missing or any(
            _begins_with(norm(line.text()), label) for line, _ in taken[1:] for label in missing if label)):
        # the next field's label could not be placed: it may sit in here, under other words
        value.unreadable = "runs_into_label"
    return value


def values(pt: PageText, fm: FieldMap, found: dict[str, LabelHit]) -> dict[str, Value]:
    """The printed value of every field whose label was found."""
    lines = pt.lines
    ends = boundaries(lines, fm, found)
    missing = [norm(f.label) for f in fm.fields if f.key not in found]
    following = {a.key: b.key for a, b in zip(fm.fields, fm.fields[1:], strict=False)}
    out: dict[str, Value] = {}
    for f in fm.fields:
        hit = found.get(f.key)
        if hit is None:
            continue
        line = lines[hit.line]
        box = None
        if f.type != "choice":
            box = _multi_box(pt, line) if f.multiline else _single_box(pt, line, hit.words)
        out[f.key] = (_in_box(pt, f, lines, hit, box, ends) if box is not None
                      else _by_lines(pt, f, lines, hit, ends, missing,
                                     following.get(f.key, f.key) not in found))
        if not hit.exact and out[f.key].text.strip():
            out[f.key].unreadable = "label"
    return out
