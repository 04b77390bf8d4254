"""A PDF's streams inflated with a cap before pdfplumber or pypdf read a page.

pdfminer (under pdfplumber) inflates a stream whole and then tokenises it, so a
form whose one page inflates to a gigabyte runs for minutes and takes
gigabytes. :func:`check_pdf` inflates every stream first, a chunk at a time
with ``zlib.decompressobj(...).decompress(data, max_length)`` and the output
thrown away, and raises :class:`~parsers.limits.TooLarge` as soon as one
stream, all streams together, or the page descriptions the form reader will
tokenise pass their limit. Two passes, so a parser that sees other objects
than pypdf does cannot slip a stream past:

* every object pypdf finds (decrypted when the file opens with an empty
  password; ASCII, LZW and run-length filters before Flate are decoded too);
* every zlib stream in the raw bytes, wherever it stands.

Image codecs (DCT, JPX, CCITT, JBIG2) are not decoded: no reader of ours
decodes them. What remains is bounded by the child process (issue #9).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parsers.limits import SizeLimits, TooLarge

if TYPE_CHECKING:
    from pypdf import PdfReader

_IN = 64 * 1024  # input fed to the inflater at a time
_OUT = 1 << 20  # output taken from it at a time (and thrown away)
_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_FLATE = ("/FlateDecode", "/Fl")
_HEX = ("/ASCIIHexDecode", "/AHx")
_A85 = ("/ASCII85Decode", "/A85")
_EXPANDING = ("/LZWDecode", "/LZW", "/RunLengthDecode", "/RL", "/BrotliDecode")
_MAX_XOBJECT_DEPTH = 20


@dataclass
class _Budget:
    """What has been inflated so far, against the limits."""

    sizes: SizeLimits
    total: int = 0
    by_object: dict[int, int] = field(default_factory=dict)  # object number -> decoded size

    def add(self, size: int) -> None:
        self.total += size
        if self.total > self.sizes.max_pdf_inflated_bytes:
            raise TooLarge("inflated", self.total, self.sizes.max_pdf_inflated_bytes)


def inflated_size(data: bytes | memoryview, limit: int, *, materialise: bool = False) -> tuple[int, bytes]:
    """How many bytes a zlib stream inflates to (stopping at its end); TooLarge past ``limit``.

    Only with ``materialise`` is the output kept (for a filter that follows). A broken
    stream counts what inflated before the break, as pdfminer's recovery would read it.
    """
    view = memoryview(data)
    inflater = zlib.decompressobj()
    total, pos, pending, kept = 0, 0, b"", []
    step = 4096  # small first: most streams are short, and a file may hold 100,000 of them
    while not inflater.eof:
        if not pending:
            if pos >= len(view):
                break
            pending, pos, step = view[pos:pos + step].tobytes(), pos + step, min(2 * step, _IN)
        try:
            out = inflater.decompress(pending, _OUT)
        except zlib.error:
            break
        total += len(out)
        if total > limit:
            raise TooLarge("stream", total, limit)
        if materialise:
            kept.append(out)
        pending = inflater.unconsumed_tail
    return total, b"".join(kept)


def _filters(stream: Any) -> list[str]:
    value = stream.get("/Filter")
    if value is None:
        return []
    value = value.get_object()
    items = value if isinstance(value, list) else [value]
    return [str(item.get_object()) for item in items]


def decoded_size(raw: bytes, filters: list[str], limit: int) -> int:
    """The size of a stream after the filters our readers apply; TooLarge past ``limit``."""
    from pypdf.errors import LimitReachedError
    from pypdf.filters import (
        ASCII85Decode,
        ASCIIHexDecode,
        BrotliDecode,
        LZWDecode,
        RunLengthDecode,
    )

    data = raw
    for i, name in enumerate(filters):
        last = i == len(filters) - 1
        if name in _FLATE:
            size, data = inflated_size(data, limit, materialise=not last)
            if last:
                return size
        elif name in _HEX:
            data = ASCIIHexDecode.decode(data)
        elif name in _A85:
            data = ASCII85Decode.decode(data)
        elif name in _EXPANDING:
            decoder = {"/BrotliDecode": BrotliDecode}.get(name) or (
                LZWDecode if name in ("/LZWDecode", "/LZW") else RunLengthDecode)
            try:
                data = decoder.decode(data)  # capped by the configuration check_pdf applies
            except LimitReachedError:
                raise TooLarge("stream", limit + 1, limit) from None
        else:  # image codecs and the unknown: never decoded by our readers
            break
        if len(data) > limit:
            raise TooLarge("stream", len(data), limit)
    return len(data)


def _pypdf_streams(reader: PdfReader, budget: _Budget) -> None:
    """Every stream object pypdf finds, decoded with the caps."""
    from pypdf.generic import StreamObject

    numbered = [num for table in reader.xref.values() for num in table]
    if len(numbered) + len(reader.xref_objStm) > budget.sizes.max_pdf_objects:
        raise TooLarge("objects", len(numbered) + len(reader.xref_objStm), budget.sizes.max_pdf_objects)
    for num in numbered:
        try:
            obj = reader.get_object(num)
            filters = _filters(obj) if isinstance(obj, StreamObject) else None
        except (TooLarge, MemoryError):
            raise
        except Exception:  # a broken object: the readers will say the file is corrupt
            continue
        if filters is None:
            continue
        try:
            size = decoded_size(bytes(getattr(obj, "_data", b"") or b""), filters, budget.sizes.max_pdf_stream_bytes)
        except TooLarge:
            raise
        except Exception:  # undecodable data: nothing our readers can inflate either
            continue
        budget.by_object[num] = size
        budget.add(size)


def _raw_streams(data: bytes, budget: _Budget) -> None:
    """Every zlib stream after a ``stream`` keyword in the raw bytes, whatever object holds it."""
    view = memoryview(data)
    for count, match in enumerate(_STREAM.finditer(data), 1):
        if count > budget.sizes.max_pdf_objects:
            raise TooLarge("objects", count, budget.sizes.max_pdf_objects)
        start = match.end()
        head = data[start:start + 2]
        if len(head) < 2 or head[0] & 0x0F != 8 or head[0] >> 4 > 7 or (head[0] << 8 | head[1]) % 31:
            continue  # not a zlib stream (an image, encrypted data, plain text)
        size, _ = inflated_size(view[start:], budget.sizes.max_pdf_stream_bytes)
        budget.add(size)


def _content_objects(reader: PdfReader, pages: int) -> Iterator[int]:
    """Object numbers of the page descriptions of the first ``pages`` pages: their content
    streams and the form XObjects they draw (nested), each once."""
    from pypdf.generic import IndirectObject

    seen: set[int] = set()

    def refs(value: Any) -> list[IndirectObject]:
        items = value if isinstance(value, list) else [value]
        return [v for v in items if isinstance(v, IndirectObject)]

    def xobjects(resources: Any, depth: int) -> Iterator[int]:
        if depth > _MAX_XOBJECT_DEPTH or resources is None:
            return
        resolved = resources.get_object()
        table = resolved.get("/XObject") if hasattr(resolved, "get") else None
        entries: Any = table.get_object() if table is not None else {}
        for ref in refs(list(entries.values()) if hasattr(entries, "values") else []):
            obj: Any = ref.get_object()
            if ref.idnum in seen or not hasattr(obj, "get") or obj.get("/Subtype") != "/Form":
                continue
            seen.add(ref.idnum)
            yield ref.idnum
            yield from xobjects(obj.get("/Resources"), depth + 1)

    for page in reader.pages[:pages]:
        contents = page.get("/Contents")  # a stream, or an array of streams, maybe by reference
        resolved = contents.get_object() if isinstance(contents, IndirectObject) else contents
        for ref in refs(resolved) if isinstance(resolved, list) else refs(contents):
            if ref.idnum not in seen:
                seen.add(ref.idnum)
                yield ref.idnum
        yield from xobjects(page.get("/Resources"), 0)


def check_pdf(data: bytes, reader: PdfReader, sizes: SizeLimits, content_pages: int = 0) -> None:
    """Refuse (TooLarge) a PDF whose streams inflate beyond ``sizes``; ``content_pages``: the
    first pages whose descriptions will be tokenised (pdfplumber), held to ``max_pdf_content_bytes``
    together. ``reader`` is the file opened (and decrypted) by pypdf."""
    from pypdf import apply_configuration

    budget = _Budget(sizes)
    limit = sizes.max_pdf_stream_bytes
    with apply_configuration(lzw_maximum_output_length=limit, run_length_maximum_output_length=limit,
                             brotli_maximum_output_length=limit, zlib_maximum_output_length=limit,
                             jbig2dec_binary=None):
        _pypdf_streams(reader, budget)
        _raw_streams(data, budget)
        if content_pages:
            content = 0
            for num in _content_objects(reader, content_pages):
                content += budget.by_object.get(num, 0)
                if content > sizes.max_pdf_content_bytes:
                    raise TooLarge("content", content, sizes.max_pdf_content_bytes)
