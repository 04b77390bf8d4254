"""A zip holding a PDF is a zip: intake does not read documents out of archives by accident."""

from __future__ import annotations

import io
import zipfile

from fixturegen.textpdf import text_pdf

from parsers import filetype


def test_a_zip_storing_a_pdf_uncompressed_is_a_zip_not_a_pdf():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("Ansøgning.pdf", text_pdf([["Ansøgning"]]))
    assert filetype.detect(buf.getvalue()) == filetype.ZIP


def test_a_pdf_with_some_bytes_before_its_header_is_still_a_pdf():
    assert filetype.detect(b"\r\n" + text_pdf([["x"]])) == filetype.PDF
