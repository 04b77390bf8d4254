"""Tell a file's type by its bytes (magic numbers), never by its name."""

from __future__ import annotations

import io
import zipfile

from parsers import zipcheck
from parsers.limits import TooLarge

PDF = "pdf"
XLSX = "xlsx"
XLSM = "xlsm"
DOCX = "docx"
ODS = "ods"
ODT = "odt"
XLS = "xls"
DOC = "doc"
OFFICE_ENCRYPTED = "office-encrypted"
OLE_OTHER = "ole"
ZIP = "zip"
PNG = "png"
JPEG = "jpeg"
GIF = "gif"
TIFF = "tiff"
HEIC = "heic"
RTF = "rtf"
HTML = "html"
TEXT = "text"
EMPTY = "empty"
UNKNOWN = "unknown"

# Every type :func:`detect` can give (each has a Danish name in config/problems.da.toml [types]).
ALL_TYPES = (PDF, XLSX, XLSM, DOCX, ODS, ODT, XLS, DOC, OFFICE_ENCRYPTED, OLE_OTHER, ZIP, PNG, JPEG,
             GIF, TIFF, HEIC, RTF, HTML, TEXT, EMPTY, UNKNOWN)
SPREADSHEETS = (XLSX, XLSM, XLS, ODS)
# What the budget reader is given: a spreadsheet, or an encrypted Office file (to say so).
BUDGET_TYPES = (*SPREADSHEETS, OFFICE_ENCRYPTED)
IMAGES = (PNG, JPEG, GIF, TIFF, HEIC)
WORD_PROCESSING = (DOCX, DOC, ODT, RTF)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _zip_type(data: bytes) -> str:
    """The type of a zip by its members' names, without unpacking more than 200 bytes."""
    try:
        # a directory of 100,000s of members takes seconds to list: such a zip is no document
        with zipcheck.open_checked(data) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                with zf.open("mimetype") as member:
                    mimetype = member.read(200).decode("ascii", "replace").strip()
                if mimetype.endswith("opendocument.spreadsheet"):
                    return ODS
                if mimetype.endswith("opendocument.text"):
                    return ODT
            if "[Content_Types].xml" in names:
                if any(n.startswith("xl/") for n in names):
                    return XLSM if "xl/vbaProject.bin" in names else XLSX
                if any(n.startswith("word/") for n in names):
                    return DOCX
    except TooLarge:
        return ZIP
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return UNKNOWN
    return ZIP


def _ole_type(data: bytes) -> str:
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except (OSError, ValueError, IndexError, TypeError):
        return OLE_OTHER
    try:
        streams = {"/".join(parts).lower() for parts in ole.listdir()}
    finally:
        ole.close()
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        return OFFICE_ENCRYPTED
    if "workbook" in streams or "book" in streams:
        return XLS
    if "worddocument" in streams:
        return DOC
    return OLE_OTHER


def detect(data: bytes) -> str:
    """Return a short type name (``pdf``, ``xlsx``, ``docx``, ``png`` ...) for the bytes."""
    if not data:
        return EMPTY
    head = data[:1024]
    # ZIP first: a zip that stores a PDF uncompressed has "%PDF-" in its first kilobyte too
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    if b"%PDF-" in head:
        return PDF
    if data.startswith(_OLE_MAGIC):
        return _ole_type(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return HEIC
    if data.startswith(b"{\\rtf"):
        return RTF
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return HTML
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character may be cut at the 1024th byte: try a little less
        try:
            head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return UNKNOWN
    if b"\x00" in head:
        return UNKNOWN
    return TEXT
