"""Is the sender who the From header says? What the inbox's own mail server found out.

Anyone can write any address into From. The inbox's mail server checks SPF,
DKIM and DMARC when the mail arrives and writes the result into an
``Authentication-Results`` header (RFC 8601) that starts with its own name,
the ``authserv-id`` (``[outbox] trusted_authserv_id``; Microsoft 365 and Gmail
write one). Only that server's header is believed, the topmost one with its
name (a sender can write such a header too, further down; the server adds its
own on top and removes forged ones). The header is read with ``authres``, a
parser for exactly this grammar.

A sender is verified when DMARC passed for the From domain, or, where DMARC
gave no verdict, SPF or DKIM passed for a domain aligned with it (the same
domain, or one a parent of the other). DMARC ``fail`` is never overruled.
Pure: headers in, a verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from store.words import SenderAuth

_PASS = "pass"


@dataclass(frozen=True)
class SenderCheck:
    """The verdict on one mail's sender, and why (English, for staff and the log)."""

    auth: SenderAuth
    reason: str

    @property
    def blocks_mail(self) -> bool:
        """True when no automatic mail may go to this sender."""
        return self.auth == SenderAuth.UNVERIFIED


def aligned(domain: str | None, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or one a parent of the
    other at a label boundary (a signature for ``kommune.dk`` covers ``mail.kommune.dk``)."""
    if not domain:
        return False
    domain = domain.strip().lower().rstrip(".").rsplit("@", 1)[-1]
    return bool(domain) and (domain == from_domain or from_domain.endswith("." + domain)
                             or domain.endswith("." + from_domain))


def _values(headers: Mapping[str, Iterable[str]], name: str) -> list[str]:
    values = headers.get(name)
    if values is None:
        return []
    return [values] if isinstance(values, str) else list(values)


def _prop(result: object, ptype: str, name: str) -> str | None:
    for prop in getattr(result, "properties", None) or []:
        if str(prop.type).lower() == ptype and str(prop.name).lower() == name:
            return str(prop.value)
    return None


def check(headers: Mapping[str, Iterable[str]], from_addr: str | None,
          trusted_authserv_id: str | None) -> SenderCheck:
    """The verdict on the sender of a mail whose headers (lower-case names, topmost first) are given."""
    import authres

    if not trusted_authserv_id:
        return SenderCheck(SenderAuth.UNCHECKED, "no trusted Authentication-Results header is configured "
                                                 "([outbox] trusted_authserv_id): receipts rely on rate limits alone")
    if not from_addr or "@" not in from_addr:
        return SenderCheck(SenderAuth.UNVERIFIED, "the mail has no single sender address to verify")
    from_domain = from_addr.rsplit("@", 1)[1].lower()
    trusted = trusted_authserv_id.strip().lower()
    for value in _values(headers, "authentication-results"):
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except authres.AuthResError:
            continue  # not a header we can read, so not one our server wrote
        if str(parsed.authserv_id).lower() != trusted:
            continue
        results = {str(r.method).lower(): r for r in parsed.results}
        dmarc = results.get("dmarc")
        if dmarc is not None and str(dmarc.result).lower() == _PASS:
            if aligned(_prop(dmarc, "header", "from") or from_domain, from_domain):
                return SenderCheck(SenderAuth.VERIFIED, f"dmarc=pass for {from_domain}")
        if dmarc is not None and str(dmarc.result).lower() == "fail":
            return SenderCheck(SenderAuth.UNVERIFIED, f"dmarc=fail for {from_domain} ({trusted})")
        for r in parsed.results:
            method, result = str(r.method).lower(), str(r.result).lower()
            if method == "dkim" and result == _PASS and aligned(_prop(r, "header", "d") or _prop(r, "header", "i"), from_domain):
                return SenderCheck(SenderAuth.VERIFIED, f"dkim=pass aligned with {from_domain}")
            if method == "spf" and result == _PASS and aligned(_prop(r, "smtp", "mailfrom"), from_domain):
                return SenderCheck(SenderAuth.VERIFIED, f"spf=pass aligned with {from_domain}")
        found = ", ".join(f"{r.method}={r.result}" for r in parsed.results) or "no results"
        return SenderCheck(SenderAuth.UNVERIFIED, f"{trusted} could not verify {from_domain} ({found})")
    return SenderCheck(SenderAuth.UNVERIFIED, f"the mail has no Authentication-Results header from {trusted}")
