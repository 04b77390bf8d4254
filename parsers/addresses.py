"""Mail addresses read the safe way round: parsed first, then only the display names decoded.

An RFC 2047 encoded word is text, never syntax: decoding a ``From`` header
before parsing it lets an encoded display name supply the address
(``=?utf-8?q?evil=40example.com?= <real@kommune.dk>``) or hide the real one,
and breaks ordinary Danish mail (``=?iso-8859-1?Q?S=F8rensen=2C_Mette?=
<mette@kommune.dk>`` holds an encoded comma). So the raw header is split into
mailboxes by its own syntax (quoted strings, comments, angle brackets, groups),
each address must be a plain ``local@domain``, and only then is the display
name decoded. The parser is our own, not the standard library's, so that what
intake reads does not change with the interpreter's release.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# dot-atom local part (RFC 5322 atext) @ a domain of at least two labels (IDN letters allowed)
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
MAX_NAME = 200  # characters of a display name kept


@dataclass(frozen=True)
class Mailbox:
    """One address of a header and the display name that came with it (decoded, cleaned)."""

    address: str  # lower case
    name: str | None


def _split(value: str) -> list[str]:
    """The header split at top-level commas (and group colons and semicolons), keeping quoted
    strings, comments and angle brackets whole."""
    out: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    comment = angle = 0
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or comment):
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"' and not comment:
            quoted = True
        elif ch == "(":
            comment += 1
        elif ch == ")" and comment:
            comment -= 1
        elif comment:
            pass
        elif ch == "<":
            angle += 1
        elif ch == ">" and angle:
            angle -= 1
        elif not angle and ch in ",;":
            out.append("".join(current))
            current = []
            continue
        elif not angle and ch == ":":  # "group name:" - the name is not an address
            current = []
            continue
        current.append(ch)
    out.append("".join(current))
    return [part.strip() for part in out if part.strip()]


def _strip_comments(text: str) -> tuple[str, str]:
    """(text without its comments, the comments' text)."""
    kept: list[str] = []
    said: list[str] = []
    depth = 0
    escaped = quoted = False
    for ch in text:
        if escaped:
            escaped = False
            (said if depth else kept).append(ch)
            continue
        if ch == "\\" and (depth or quoted):
            escaped = True
            if quoted and not depth:
                kept.append(ch)
            continue
        if depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                continue
            said.append(ch)
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "(" and not quoted:
            depth = 1
            continue
        kept.append(ch)
    return "".join(kept), "".join(said)


def _unquote(phrase: str) -> str:
    """A display name's words, quoted strings unquoted."""
    return re.sub(r'"((?:[^"\\]|\\.)*)"', lambda m: re.sub(r"\\(.)", r"\1", m.group(1)), phrase)


def _mailbox(part: str, decode: Callable[[str], str]) -> Mailbox | None:
    """One mailbox; None when its address is not a plain ``local@domain``."""
    text, comments = _strip_comments(part)
    if "<" in text:
        phrase, _, rest = text.rpartition("<")
        address, closing, after = rest.partition(">")
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", phrase)  # the phrase outside its quoted strings
        if not closing or after.strip() or any(ch in bare for ch in '<>()[]@\\"'):
            return None
        name = _unquote(phrase).strip() or comments.strip()
    else:
        address, name = text, comments.strip()
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        return None
    return Mailbox(address.lower(), clean_name(decode(name)) if name else None)


def plain_address(text: str | None) -> str | None:
    """``text`` (trimmed) when it is a plain ``local@domain`` address, else None."""
    text = (text or "").strip()
    return text if _ADDRESS.fullmatch(text) else None


def clean_name(text: str) -> str | None:
    """A display name on one line: control characters out, spaces collapsed, at most MAX_NAME."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())[:MAX_NAME]
    return text or None


def mailboxes(value: str | None, decode: Callable[[str], str]) -> tuple[list[Mailbox], int]:
    """The mailboxes of an address header (``decode`` turns encoded words into text, and is
    applied to display names only), and how many entries the header has in all (an entry
    that is no usable address is counted but not returned)."""
    if not value:
        return [], 0
    entries = _split(value)
    boxes = [box for box in (_mailbox(e, decode) for e in entries) if box is not None]
    return boxes, len(entries)
