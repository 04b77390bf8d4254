"""A letter as a PDF the organisation can file: the text version of the mail, set with reportlab.

The PDF says exactly what the text mail says: it is made from the same
template's text, one paragraph per line. A line in capitals is a heading, a
line starting with ``- `` a point of a list, an empty line a space. DejaVuSans
(Debian ``fonts-dejavu-core``) prints every European letter; without it the
letter falls back to Helvetica, which still prints æ, ø and å.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def fonts() -> tuple[str, str]:
    """(regular, bold) font names, registering DejaVuSans with reportlab once."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        log.warning("DejaVuSans not found in %s: letters use Helvetica", FONT_DIR)
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


def _is_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and len(line) <= 60 and line == line.upper()


def letter_pdf(*, title: str, sender: Sequence[str], recipient: Sequence[str], meta: Sequence[str],
               text: str) -> bytes:
    """A one-column A4 letter: the sender at the top, the recipient's address, the date and case
    number (``meta``), then ``text`` (see the module's description)."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=10.5, leading=14.5, spaceAfter=2)
    head = ParagraphStyle("head", parent=body, fontName=bold, fontSize=11.5, spaceBefore=8, spaceAfter=4)
    point = ParagraphStyle("point", parent=body, leftIndent=12, bulletIndent=2)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT, textColor=HexColor("#444444"))
    story: list[object] = [Paragraph(escape(line), right) for line in sender if line]
    story.append(Spacer(1, 10 * mm))
    story += [Paragraph(escape(line), body) for line in recipient if line]
    story.append(Spacer(1, 8 * mm))
    story += [Paragraph(escape(line), right) for line in meta if line]
    story.append(Spacer(1, 6 * mm))
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            story.append(Spacer(1, 2.5 * mm))
        elif line.startswith("- "):
            story.append(Paragraph(escape(line[2:]), point, bulletText="•"))
        elif _is_heading(line):
            story.append(Paragraph(escape(line), head))
        else:
            story.append(Paragraph(escape(line), body))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author=" ".join(sender[:1]),
                            leftMargin=25 * mm, rightMargin=25 * mm, topMargin=20 * mm, bottomMargin=20 * mm)
    doc.build(story)  # type: ignore[arg-type]  # platypus takes its flowables as a plain list
    return out.getvalue()
