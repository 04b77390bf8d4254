"""A tiny PDF writer for report documents: pages of plain text lines (Helvetica, Latin-1).

Report parts are free-form documents, so the fixtures need only text at known
amounts per page; this keeps them independent of the form template.
"""

from __future__ import annotations

from intake.documents.samples import assemble_pdf


def _escape(line: str) -> bytes:
    data = line.encode("cp1252", "replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one page per list of lines, 14 pt apart from the top of an A4 page."""
    font_obj = 3 + 2 * len(pages)
    objs: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(pages)))
        + b"] /Count %d >>" % len(pages),
    ]
    for i, lines in enumerate(pages):
        body = b"BT /F1 11 Tf 14 TL 56 790 Td " + b" ".join(
            b"(" + _escape(line) + b") Tj T*" for line in lines) + b" ET"
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font_obj))
        objs.append(b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    return assemble_pdf(objs)


FILLER = ("Indsatsen har i perioden givet beboerne bedre kontakt til kommunen og til "
          "boligafdelingens drift, og flere udsættelser er afværget.")


def prose(lines: int, heading: str | None = None) -> list[str]:
    """``lines`` lines of Danish prose, optionally under a heading."""
    return ([heading] if heading else []) + [FILLER[: 90 - (i % 5)] for i in range(lines)]
