"""The shape of a raw mail measured before the MIME parser builds it: header size, depth, parts.

The standard library's parser recurses once per nested part (a mail nested
5,000 levels deep ends in ``RecursionError``) and builds every part of a mail
with 10,000 attachments. :func:`measure` walks the raw bytes the way the
parser splits them (a part's ``Content-Type`` boundary, ``message/rfc822``
bodies) with an explicit stack, and stops counting as soon as a limit is
passed, so the parser is only run on a mail whose shape is known to be small.
"""

from __future__ import annotations

import email.message
import re
from dataclasses import dataclass

from parsers.limits import SizeLimits

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_CONTENT_TYPE = re.compile(rb"(?im)^content-type[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)")
_PARAM_FIELD = re.compile(rb"(?im)^content-(?:type|disposition)[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)")
# The standard library reads a header's parameters in quadratic time (each ";" recounts the
# quotes before it): 40,000 of them take seconds. No real Content-Type or Content-Disposition
# comes near this, filename included.
MAX_PARAM_FIELD = 8 * 1024


@dataclass(frozen=True)
class Shape:
    """What :func:`measure` found; ``breach`` names the first limit passed, if any."""

    header_bytes: int  # the top-level header block
    depth: int  # the deepest nesting seen (the mail itself is 1)
    parts: int  # entities seen, the mail and every part of it
    breach: str | None = None  # "header", "depth" or "parts"
    header_limit: int = 0  # with breach "header": the limit passed (a header block's, or one field's)


def header_end(raw: bytes, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """(end of the header block, start of the body) of the entity in ``raw[start:end]``."""
    end = len(raw) if end is None else end
    if raw.startswith((b"\r\n", b"\n"), start):  # no headers at all
        return start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    m = _BLANK_LINE.search(raw, start, end)
    return (m.start(), m.end()) if m else (end, end)


def content_type(head: bytes) -> tuple[str, bytes | None]:
    """The content type (lower case) and boundary a header block declares (its first Content-Type)."""
    m = _CONTENT_TYPE.search(head)
    if m is None:
        return "text/plain", None
    value = re.sub(rb"\r?\n[ \t]", b" ", m.group(1)).decode("latin-1")
    msg = email.message.Message()
    try:
        msg["Content-Type"] = value
        ctype = msg.get_content_type()
        boundary = msg.get_boundary()
    except (ValueError, TypeError, IndexError, LookupError):  # an unparseable header: plain text
        return "text/plain", None
    return ctype, boundary.encode("latin-1", "replace") if boundary else None


def _parts(raw: bytes, start: int, end: int, boundary: bytes, limit: int) -> list[tuple[int, int]]:
    """(start, end) of each part of a multipart body between ``start`` and ``end`` (at most
    ``limit`` + 1 of them: one more than the limit is enough to refuse)."""
    delimiter = re.compile(rb"(?m)^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$")
    out: list[tuple[int, int]] = []
    begin: int | None = None
    for m in delimiter.finditer(raw, start, end):
        if begin is not None:
            stop = m.start() - (2 if raw[m.start() - 2:m.start()] == b"\r\n" else 1)
            out.append((begin, max(begin, stop)))
        if m.group(1) or len(out) > limit:  # the closing delimiter: the rest is the epilogue
            return out
        nl = raw.find(b"\n", m.end(), end)
        begin = end if nl < 0 else nl + 1
    if begin is not None:  # no closing delimiter: the last part runs to the end
        out.append((begin, end))
    return out


def parts(raw: bytes, start: int, end: int, boundary: bytes, limit: int) -> list[tuple[int, int]]:
    """(start, end) of each part of a multipart body, as the parser splits it (``parsers.mimecut``)."""
    return _parts(raw, start, end, boundary, limit)


def measure(raw: bytes, sizes: SizeLimits) -> Shape:
    """Header size, nesting depth and number of parts of a raw mail, counted up to the limits."""
    top_head, _ = header_end(raw)
    if top_head > sizes.max_header_bytes:
        return Shape(top_head, 1, 1, "header", sizes.max_header_bytes)
    stack = [(0, len(raw), 1)]
    parts = deepest = 0
    while stack:
        start, end, depth = stack.pop()
        parts, deepest = parts + 1, max(deepest, depth)
        if depth > sizes.max_mime_depth:
            return Shape(top_head, deepest, parts, "depth")
        if parts > sizes.max_mime_parts:
            return Shape(top_head, deepest, parts, "parts")
        head_end, body = header_end(raw, start, end)
        if head_end - start > sizes.max_header_bytes:
            return Shape(head_end - start, deepest, parts, "header", sizes.max_header_bytes)
        longest = max((len(m.group(1)) for m in _PARAM_FIELD.finditer(raw, start, head_end)), default=0)
        if longest > MAX_PARAM_FIELD:
            return Shape(longest, deepest, parts, "header", MAX_PARAM_FIELD)
        ctype, boundary = content_type(raw[start:head_end])
        if ctype.startswith("multipart/") and boundary:
            stack.extend((s, e, depth + 1) for s, e in reversed(_parts(raw, body, end, boundary,
                                                                           sizes.max_mime_parts)))
        elif ctype in ("message/rfc822", "message/global"):
            stack.append((body, end, depth + 1))
    return Shape(top_head, deepest, parts)
