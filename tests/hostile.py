"""Hostile files and mails, generated at test time (nothing large is committed).

Each builder returns bytes. The bombs are made cheaply: a deflate stream of a
repeated chunk is the compressed chunk repeated (a full flush resets the
compressor), so a gigabyte compresses in well under a second.

Files::

    deflate_bomb(size) -> bytes               # a zlib stream that inflates to ``size`` bytes
    pdf_inflate_bomb(size) -> bytes           # a one-page PDF whose content stream inflates to ``size``
    pdf_page_tree_loop() -> bytes             # the page tree's /Kids contains the tree itself
    xlsx_sheet_bomb(size) -> bytes            # sheet1.xml of ``size`` bytes (a valid workbook)
    xlsx_no_dimension(cells) -> bytes         # ``cells`` filled cells, no <dimension>, small XML
    xlsx_shared_string_bomb(size) -> bytes    # sharedStrings.xml holding one string of ``size`` bytes

Mails::

    nested_mime(depth) -> bytes               # multipart inside multipart, ``depth`` levels
    many_attachments(count) -> bytes
    big_header(size) -> bytes                 # one header of ``size`` bytes (folded lines)
    big_subject(size) -> bytes
"""

from __future__ import annotations

import io
import struct
import zlib

CHUNK = 1 << 20  # 1 MiB


def _deflate_repeated(chunk: bytes, times: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``chunk * times`` (built from one compressed block), its CRC-32 and Adler-32."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    # after a full flush the compressor starts afresh: the same input gives the same block
    again = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert again == block
    tail = comp.flush(zlib.Z_FINISH)
    crc, adler = 0, 1
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
        adler = zlib.adler32(chunk, adler)
    return block * times + tail, crc, adler


def deflate_bomb(size: int, unit: bytes = b"0 0 m ") -> bytes:
    """A zlib stream (header, deflate, Adler-32) that inflates to about ``size`` bytes of ``unit``."""
    chunk = (unit * (CHUNK // len(unit) + 1))[: CHUNK - CHUNK % len(unit)]
    body, _, adler = _deflate_repeated(chunk, max(1, size // CHUNK))
    return b"\x78\xda" + body + struct.pack(">I", adler)


def _pdf(objects: list[bytes]) -> bytes:
    from intake.documents.samples import assemble_pdf

    return assemble_pdf(objects)


def pdf_inflate_bomb(size: int = 1 << 30) -> bytes:
    """One page whose only content stream inflates to ``size`` bytes of path operators."""
    stream = deflate_bomb(size)
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ])


def pdf_page_tree_loop() -> bytes:
    """A page tree whose /Kids holds a page and the tree itself."""
    content = b"BT /F1 12 Tf 72 720 Td (Ansoegningsskema) Tj ET"
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


# --- spreadsheets -------------------------------------------------------------------

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'%s</Types>'
)
_SST_TYPE = (b'<Override PartName="/xl/sharedStrings.xml" '
             b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>%s</Relationships>'
)
_SST_REL = (b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/sharedStrings" Target="sharedStrings.xml"/>')
_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _deflated(head: bytes, unit: bytes = b"", size: int = 0, tail: bytes = b"") -> tuple[bytes, int, int]:
    """Raw deflate of ``head + unit * n + tail`` (about ``size`` bytes), its CRC-32 and length.

    Each part ends in a full flush, so the repeated part is one compressed block repeated.
    """
    comp = zlib.compressobj(9 if unit else 1, zlib.DEFLATED, -15)  # plain parts: fast, not small
    data = [comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)]
    crc, length = zlib.crc32(head), len(head)
    if unit:
        chunk = (unit * (CHUNK // len(unit) + 1))[: CHUNK - CHUNK % len(unit)]
        times = max(1, (size - len(head) - len(tail)) // len(chunk))
        data.append((comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)) * times)
        for _ in range(times):
            crc = zlib.crc32(chunk, crc)
        length += times * len(chunk)
    data.append(comp.compress(tail) + comp.flush(zlib.Z_FINISH))
    return b"".join(data), zlib.crc32(tail, crc), length + len(tail)


def zip_of(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip file of already deflated members ``(name, deflated, crc, size)`` (zip64 where needed)."""
    out, central = io.BytesIO(), []
    for name, data, crc, size in members:
        offset, encoded = out.tell(), name.encode()
        big = size >= 0xFFFFFFFF or len(data) >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, size, len(data)) if big else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if big else (len(data), size)
        version = 45 if big else 20
        out.write(struct.pack("<4s2H3H3L2H", b"PK\x03\x04", version, 0, 8, 0, 0x21, crc, *sizes,
                              len(encoded), len(extra)) + encoded + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, size, len(data), offset) if big else b""
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", version, version, 0, 8, 0, 0x21,
                                   crc, *sizes, len(encoded), len(cextra), 0, 0, 0, 0,
                                   0xFFFFFFFF if big else offset) + encoded + cextra)
    start, body = out.tell(), b"".join(central)
    out.write(body)
    end = out.tell()
    out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, len(central), len(central),
                          len(body), start))
    out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1))
    count = min(len(central), 0xFFFF)  # more: the zip64 record above has the count
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(body), start, 0))
    return out.getvalue()


def _workbook(sheet: tuple[bytes, bytes, int, bytes], shared: tuple[bytes, bytes, int, bytes] | None) -> bytes:
    parts = [
        ("[Content_Types].xml", (_CONTENT_TYPES % (_SST_TYPE if shared else b""),)),
        ("_rels/.rels", (_ROOT_RELS,)),
        ("xl/workbook.xml", (_WORKBOOK,)),
        ("xl/_rels/workbook.xml.rels", (_WB_RELS % (_SST_REL if shared else b""),)),
        ("xl/worksheets/sheet1.xml", sheet),
    ]
    if shared:
        parts.append(("xl/sharedStrings.xml", shared))
    return zip_of([(name, *_deflated(*args)) for name, args in parts])


def xlsx_sheet_bomb(size: int = 1 << 30) -> bytes:
    """A workbook whose one sheet's XML is ``size`` bytes of filled cells (with a small <dimension>)."""
    head = _SHEET_HEAD + b'<dimension ref="A1:A1"/><sheetData><row r="1">'
    return _workbook((head, b"<c><v>1</v></c>", size, b"</row></sheetData></worksheet>"), None)


def xlsx_no_dimension(cells: int = 500_000) -> bytes:
    """A workbook whose sheet has no <dimension> and ``cells`` filled cells of distinct values:
    it packs like a real sheet (no bomb ratio), so only counting its cells refuses it."""
    rows = []
    for r in range(1, cells // 10 + 1):
        rows.append(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (bytes([65 + c]), r, r * 10 + c)
                                                     for c in range(10)) + b"</row>")
    sheet = _SHEET_HEAD + b"<sheetData>" + b"".join(rows) + b"</sheetData></worksheet>"
    return _workbook((sheet, b"", 0, b""), None)


def xlsx_shared_string_bomb(size: int = 1 << 30) -> bytes:
    """A workbook whose shared-strings part is one string of ``size`` bytes, used by cell A1."""
    sheet = (_SHEET_HEAD + b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
             b"", 0, b"")
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            b"<si><t>")
    return _workbook(sheet, (head, b"A", size, b"</t></si></sst>"))


# --- mails --------------------------------------------------------------------------

SENDER = b"mette@boligselskabet-nord.dk"


def _head(sender: bytes) -> bytes:
    return (b"From: Mette Hansen <" + sender + b">\r\nTo: pulje@bl.dk\r\n"
            b"Date: Tue, 01 Jul 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n")


def nested_mime(depth: int = 5000, subject: bytes = "Ansøgning – Pulje til sociale viceværter".encode(),
                sender: bytes = SENDER) -> bytes:
    """Multipart inside multipart, ``depth`` levels, a text part at the bottom."""
    out = [_head(sender), b"Subject: " + subject + b"\r\nMessage-ID: <nested@hostile.example>\r\n"]
    out.append(b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n')
    for i in range(1, depth):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i))
    out.append(b"--b%d\r\nContent-Type: text/plain\r\n\r\nbund\r\n" % (depth - 1))
    for i in range(depth - 1, -1, -1):
        out.append(b"--b%d--\r\n" % i)
    return b"".join(out)


def many_attachments(count: int = 10_000, subject: bytes = "Ansøgning – Pulje til sociale viceværter".encode(),
                     sender: bytes = SENDER) -> bytes:
    """One mail with ``count`` small attachments."""
    out = [_head(sender), b"Subject: " + subject + b"\r\nMessage-ID: <many@hostile.example>\r\n",
           b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nHej\r\n']
    for i in range(count):
        out.append(b'--x\r\nContent-Type: application/octet-stream\r\n'
                   b'Content-Disposition: attachment; filename="bilag-%05d.txt"\r\n\r\nbilag %d\r\n' % (i, i))
    out.append(b"--x--\r\n")
    return b"".join(out)


def big_header(size: int = 5 << 20, subject: bytes = "Ansøgning – Pulje til sociale viceværter".encode(),
               sender: bytes = SENDER) -> bytes:
    """A mail with one header of ``size`` bytes in folded lines of 76 characters."""
    line = b" " + b"x" * 75 + b"\r\n"
    folded = b"X-Filler: start\r\n" + line * (size // len(line))
    return (_head(sender) + b"Subject: " + subject + b"\r\nMessage-ID: <bighead@hostile.example>\r\n" + folded
            + b"Content-Type: text/plain\r\n\r\nHej\r\n")


def big_subject(size: int = 1 << 20, sender: bytes = SENDER) -> bytes:
    """A mail whose Subject is ``size`` bytes: the official subject repeated, folded."""
    unit = "Ansøgning – Pulje til sociale viceværter ".encode()
    words = (unit * (size // len(unit) + 1))[:size]
    folded = b"\r\n ".join(words[i:i + 70] for i in range(0, len(words), 70))
    return (_head(sender) + b"Subject: " + folded + b"\r\nMessage-ID: <bigsubject@hostile.example>\r\n"
            + b"Content-Type: text/plain\r\n\r\nHej\r\n")


# --- whole mails around the files ------------------------------------------------------

APPLICATION = "Ansøgning – Pulje til sociale viceværter"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def valid_cvrs(count: int, start: int = 30_000_000) -> list[str]:
    """``count`` CVR numbers that pass the modulus-11 check."""
    from parsers.normalize import is_valid_cvr

    out, n = [], start
    while len(out) < count:
        if is_valid_cvr(str(n)):
            out.append(str(n))
        n += 1
    return out


def normal_application(i: int, cvr: str) -> tuple[bytes, dict[str, str]]:
    """A complete application from organisation ``i`` on the official form and budget, and the
    values typed on its form."""
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf
    from intake.documents.samples import ONE_CARETAKER_BUDGET, application_values, make_mail

    domain = f"bolig{i}.dk"
    values = application_values(f"Boligforeningen Normal {i}", cvr, "Mette Hansen", f"mette@{domain}", "Aarhus")
    raw = make_mail(APPLICATION, sender=f"Mette Hansen <mette@{domain}>", domain=domain, attachments=[
        ("Ansøgningsskema.pdf", fill_form_pdf(values), "application/pdf"),
        ("Budget.xlsx", fill_budget_xlsx(ONE_CARETAKER_BUDGET), XLSX_TYPE)])
    return raw, values


def application_with(sender_domain: str, form: bytes | None, budget: bytes | None,
                     subject: str = APPLICATION, **kw: object) -> bytes:
    """An application mail from ``sender_domain`` with the given form and budget (either may be a bomb)."""
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf
    from intake.documents.samples import ONE_CARETAKER_BUDGET, application_values, make_mail

    if form is None:
        form = fill_form_pdf(application_values("Hostile", "29190003", "X", f"x@{sender_domain}", "Aarhus"))
    if budget is None:
        budget = fill_budget_xlsx(ONE_CARETAKER_BUDGET)
    return make_mail(subject, sender=f"Afsender <afsender@{sender_domain}>", domain=sender_domain,
                     attachments=[("Ansøgningsskema.pdf", form, "application/pdf"),
                                  ("Budget.xlsx", budget, XLSX_TYPE)], **kw)  # type: ignore[arg-type]
