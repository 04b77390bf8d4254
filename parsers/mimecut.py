"""Large base64 attachments taken out of a mail before the MIME parser reads it.

The standard library's parser (which mail-parser uses) keeps a part's body as a
list of line strings while it reads it, then as one string: a 34 MB attachment
costs it about 90 MiB at the peak, and mail-parser's copy and the decoded bytes
come on top. So before parsing, the body of every large base64 part that has a
file name (one a parser makes an attachment of) is replaced by a short token,
unguessable per mail; the parsers see a small mail. The attachment's bytes are
then decoded straight from the raw mail (no copy of the base64 text), and put
where the parser found the token.

Only parts reached through ``multipart/*`` are cut, never inside an attached
message (``message/rfc822``), whose bytes are an attachment of their own.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import secrets
from dataclasses import dataclass, field

from parsers import mimeshape
from parsers.limits import SizeLimits

CUT_BYTES = 1024 * 1024  # smaller bodies stay: the parser's copies of them do not matter


@dataclass
class Cut:
    """A mail with its large attachments replaced by tokens, and where their bodies are."""

    raw: bytes
    slim: bytes
    spans: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # token → body in ``raw``

    def restore(self, data: bytes, lenient: bool = False) -> bytes:
        """The attachment's bytes for what the parser decoded (``data`` itself unless it is a token).

        Decoded as ``base64.b64decode`` would (what mail-parser's attachments get), which
        raises on a broken body; ``lenient`` decodes as the standard library's
        ``get_payload(decode=True)`` does instead (the fallback parse of a broken mail).
        """
        span = self.spans.get(data) if len(data) < 100 else None
        if span is None:
            return data
        body = memoryview(self.raw)[span[0]:span[1]]
        try:
            return binascii.a2b_base64(body, strict_mode=False)
        except binascii.Error:
            if not lenient:
                raise
            part = email.message.Message(policy=email.policy.compat32)
            part["Content-Transfer-Encoding"] = "base64"
            part.set_payload(bytes(body).decode("ascii", "surrogateescape"))
            decoded = part.get_payload(decode=True)
            return decoded if isinstance(decoded, bytes) else b""


def _big_attachment(head: bytes) -> bool:
    """A part the parsers make an attachment of (a file name), in base64, not multipart or a message."""
    part = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\r\n")
    encoding = str(part.get("Content-Transfer-Encoding") or "").strip().lower()
    return (encoding == "base64" and part.get_content_maintype() not in ("multipart", "message")
            and bool(part.get_filename()))


def _bodies(raw: bytes, sizes: SizeLimits) -> list[tuple[int, int]]:
    """(start, end) of the body of each large base64 attachment, in the order of the mail."""
    found: list[tuple[int, int]] = []
    stack = [(0, len(raw))]
    while stack:
        start, end = stack.pop()
        head_end, body = mimeshape.header_end(raw, start, end)
        ctype, boundary = mimeshape.content_type(raw[start:head_end])
        if ctype.startswith("multipart/") and boundary:
            stack.extend(reversed(mimeshape.parts(raw, body, end, boundary, sizes.max_mime_parts)))
        elif end - body > CUT_BYTES and _big_attachment(raw[start:head_end]):
            found.append((body, end))
    return sorted(found)


def cut(raw: bytes, sizes: SizeLimits) -> Cut | None:
    """The mail with its large base64 attachments replaced by tokens; None when it has none.

    Call it only on a mail whose shape :func:`parsers.mimeshape.measure` found within ``sizes``.
    """
    if len(raw) <= CUT_BYTES:
        return None
    bodies = _bodies(raw, sizes)
    if not bodies:
        return None
    nonce = secrets.token_hex(16)
    result = Cut(raw=raw, slim=b"")
    pieces, pos = [], 0
    for i, (start, end) in enumerate(bodies):
        token = f"pulje-intake-cut-{nonce}-{i}".encode()
        result.spans[token] = (start, end)
        pieces += [raw[pos:start], base64.b64encode(token)]
        pos = end
    pieces.append(raw[pos:])
    result.slim = b"".join(pieces)
    return result
