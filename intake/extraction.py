"""The seam between a routed mail and its case: what the attachments say.

Each attachment is typed by its bytes. Reading the application form and the
budget, and checking them, plug in here (issue 4); the pipeline only sees an
:class:`Extraction`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from parsers import filetype
from parsers.mime import ParsedMail


@dataclass
class AttachmentInfo:
    """An attachment as a case lists it."""

    filename: str | None
    declared_type: str | None
    detected_type: str
    size: int
    sha256: str
    role: str | None = None


@dataclass
class Extraction:
    """What one mail contributes to a case."""

    attachments: list[AttachmentInfo]
    fields: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)


def describe_attachments(mail: ParsedMail) -> list[AttachmentInfo]:
    """Name, size, sha256 and content-detected type of every attachment."""
    return [
        AttachmentInfo(
            filename=a.filename,
            declared_type=a.content_type,
            detected_type=filetype.detect(a.data),
            size=len(a.data),
            sha256=hashlib.sha256(a.data).hexdigest(),
        )
        for a in mail.attachments
    ]


def extract(mail: ParsedMail, kind: str, context) -> Extraction:
    """Read what a mail of ``kind`` brings. For now: the attachments only."""
    return Extraction(attachments=describe_attachments(mail))
