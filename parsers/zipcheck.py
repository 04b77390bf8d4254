"""Zip containers (xlsx, xlsm, ods, docx) checked before a library unpacks anything.

A zip's central directory says how large every member is when unpacked, and
``zipfile`` (which openpyxl and odfpy read through) never inflates a member
past its declared size: a member that lies fails its CRC. So the declared
sizes are the truth to check. :func:`check_zip` refuses, with
:class:`~parsers.limits.TooLarge`, a zip with too many members, a member or a
whole that unpacks beyond the limits, or a member packed suspiciously tightly
(a bomb); :func:`count_tags` counts elements of an XML member by streaming, so
a sheet with two million cells is refused without building one of them.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterable

from parsers.limits import DEFAULT, RATIO_FLOOR, SizeLimits, TooLarge

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_MIN_ENTRY = 46  # bytes of a central directory entry without its name
_MAX_ENTRY = 512  # a generous average entry (name and extras included) when bounding the directory
_CHUNK = 1 << 20


def directory_size(data: bytes) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory as the end record declares them; None if not found."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or len(data) < at + 22:
        return None
    entries, size = struct.unpack_from("<H", data, at + 10)[0], struct.unpack_from("<L", data, at + 12)[0]
    locator = at - 20
    if (entries == 0xFFFF or size == 0xFFFFFFFF) and locator >= 0 and data[locator:locator + 4] == _EOCD64_LOCATOR:
        offset = struct.unpack_from("<Q", data, locator + 8)[0]
        if offset + 56 <= len(data) and data[offset:offset + 4] == _EOCD64:
            entries, size = struct.unpack_from("<QQ", data, offset + 32)
    return entries, size


def open_checked(data: bytes, sizes: SizeLimits = DEFAULT) -> zipfile.ZipFile:
    """The zip, opened only after its directory is known to be small; raises TooLarge or BadZipFile."""
    declared = directory_size(data)
    if declared is not None:
        entries, size = declared
        if entries > sizes.max_zip_members or size > sizes.max_zip_members * _MAX_ENTRY:
            # the declared count; where it understates the directory's size, what that size holds at most
            count = entries if entries > sizes.max_zip_members else size // _MIN_ENTRY
            raise TooLarge("members", count, sizes.max_zip_members)
    return zipfile.ZipFile(io.BytesIO(data))


def check_members(infos: Iterable[zipfile.ZipInfo], sizes: SizeLimits = DEFAULT) -> None:
    """Refuse a zip whose members unpack beyond the limits (TooLarge)."""
    total = count = 0
    for info in infos:
        count += 1
        if count > sizes.max_zip_members:
            raise TooLarge("members", count, sizes.max_zip_members)
        if info.file_size > sizes.max_unzipped_bytes:
            raise TooLarge("unzipped", info.file_size, sizes.max_unzipped_bytes)
        packed = max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and info.file_size > sizes.max_zip_ratio * packed:
            raise TooLarge("ratio", info.file_size // packed, sizes.max_zip_ratio)
        total += info.file_size
        if total > sizes.max_unzipped_total_bytes:
            raise TooLarge("unzipped_total", total, sizes.max_unzipped_total_bytes)


def check_zip(data: bytes, sizes: SizeLimits = DEFAULT) -> None:
    """Refuse (TooLarge) a zip container that unpacks beyond the limits; BadZipFile if it is none."""
    with open_checked(data, sizes) as zf:
        check_members(zf.infolist(), sizes)


def count_tags(zf: zipfile.ZipFile, name: str, tags: tuple[str, ...], limit: int) -> int:
    """How many start tags named ``tags`` (any namespace prefix) member ``name`` holds, read in
    chunks; raises TooLarge past ``limit``. Tags in comments count too: an overcount only refuses
    sooner. The member's size was checked, so the read ends."""
    alternatives = "|".join(re.escape(t) for t in tags)
    pattern = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(?:" + alternatives.encode() + rb")[\s/>]")
    keep = 64 + max(len(t) for t in tags)  # a tag cut at a chunk's end is counted in the next
    count, tail = 0, b""
    with zf.open(name) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            buffer = tail + chunk
            cut = len(buffer) if not chunk else max(0, len(buffer) - keep)
            count += sum(1 for m in pattern.finditer(buffer) if m.start() < cut)
            if count > limit:
                raise TooLarge("cells", count, limit)
            if not chunk:
                return count
            tail = buffer[cut:]
