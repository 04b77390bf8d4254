"""How far a reader goes into one mail or file before it stops and says why.

Every byte of mail is hostile: a small attachment can unpack to gigabytes (a
zip bomb in an .xlsx, a PDF stream that inflates a thousandfold), and a mail
can nest its parts thousands of levels deep. The readers check these sizes
*before* a library builds anything in memory, from what the file itself
declares (a zip's central directory) or by inflating with a cap, and refuse
with a problem that says what was too large. A breach is never a wrong value.

The limits are ``[processing]`` settings (``intake/settings.py``) handed to the
readers explicitly; the defaults here are safe on their own, so a reader used
without settings is bounded too. Each field's name is its settings key.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class SizeLimits:
    """The size limits of the readers (``[processing]`` keys of the same names)."""

    # Zip containers (xlsx, xlsm, ods, docx): checked in the central directory before
    # openpyxl, odfpy or zipfile read a member (zipfile never inflates past a declared size).
    max_zip_members: int = 1_000
    max_unzipped_bytes: int = 32 * MiB  # one member unpacked (a sheet's XML, the shared strings)
    max_unzipped_total_bytes: int = 128 * MiB  # every member unpacked
    max_zip_ratio: int = 100  # unpacked / packed, for members above RATIO_FLOOR bytes
    # PDF: streams are inflated with a cap before pdfplumber or pypdf read a page.
    max_pdf_objects: int = 100_000
    max_pdf_stream_bytes: int = 64 * MiB  # one stream inflated (a scanned page can be tens of MB)
    max_pdf_inflated_bytes: int = 512 * MiB  # every stream inflated
    max_pdf_content_bytes: int = 1 * MiB  # the page descriptions pdfplumber reads, all pages together
    # Mail: checked before the MIME parser builds the message.
    max_header_bytes: int = 256 * 1024  # the header block of the mail
    max_mime_depth: int = 20  # multiparts and attached messages inside each other
    max_mime_parts: int = 1_000  # parts of the whole mail
    max_subject_chars: int = 1_000  # a longer decoded subject is cut (it is shown, stored and routed)


# A member smaller than this is never refused for its ratio: tiny XML parts compress well.
RATIO_FLOOR = 1 * MiB
DEFAULT = SizeLimits()


class TooLarge(Exception):
    """A reader refused a file at a size limit: ``what`` it measured, ``size`` and ``limit``.

    ``what`` is one of ``members``, ``unzipped``, ``unzipped_total``, ``ratio``,
    ``objects``, ``stream``, ``inflated``, ``content``. ``size`` is what was counted
    up to the point of refusal (at least the limit), not necessarily the whole.
    """

    def __init__(self, what: str, size: int, limit: int):
        super().__init__(f"{what}: {size} > {limit}")
        self.what, self.size, self.limit = what, size, limit
