"""Which earlier case a new mail belongs to: the organisation's undecided application
(a resubmission supersedes it) or its granted application (a final report joins it)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from intake.extraction import Extraction
from parsers.danish import fold
from parsers.mime import ParsedMail
from store.models import Case
from store.words import UNDECIDED, CaseStatus, MailKind


@lru_cache(maxsize=1)
def free_mail_domains() -> frozenset[str]:
    """Public mail services (``config/matching.toml``): their domain names no organisation."""
    text = resources.files("config").joinpath("matching.toml").read_text(encoding="utf-8")
    return frozenset(d.lower() for d in tomllib.loads(text).get("free_mail_domains", []))


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].lower()


def find_undecided_application(s: Session, extraction: Extraction, mail: ParsedMail) -> Case | None:
    """The newest undecided application of the same organisation: same CVR, else same sender.

    A sender address alone ties two applications only when one of them has no
    readable CVR; two different CVRs are two organisations, whoever sends them.
    """
    cvr = extraction.value("cvr")
    sender = (mail.from_addr or "").lower()
    same = [func.lower(Case.sender) == sender] if sender else []
    if cvr:
        same.append(Case.cvr == cvr)
    if not same:
        return None
    candidates = list(s.scalars(
        select(Case).where(Case.kind == MailKind.APPLICATION, Case.status.in_(UNDECIDED), or_(*same))
        .order_by(Case.received_at.desc(), Case.id.desc())
    ))
    if cvr:
        for case in candidates:
            if case.cvr == cvr:
                return case
    for case in candidates:
        if sender and (case.sender or "").lower() == sender and (not cvr or not case.cvr):
            return case
    return None


def find_granted_application(s: Session, extraction: Extraction,
                             mail: ParsedMail) -> tuple[Case | None, str]:
    """The granted application a report belongs to, and how it was found (or why not)."""
    granted = list(s.scalars(
        select(Case).where(Case.kind == MailKind.APPLICATION, Case.status == CaseStatus.GRANTED)
        .order_by(Case.id)
    ))
    for cvr in extraction.cvrs:
        hits = [c for c in granted if c.cvr == cvr]
        if hits:
            return hits[-1], f"CVR {cvr} in the report"
    sender = (mail.from_addr or "").lower()
    hits = [c for c in granted if sender and (c.sender or "").lower() == sender]
    if len({c.cvr or c.id for c in hits}) == 1:
        return hits[-1], f"sender {sender}"
    domain = _domain(sender)
    if domain and domain not in free_mail_domains():
        hits = [c for c in granted if _domain(c.sender) == domain]
        if len({c.cvr or c.id for c in hits}) == 1:
            return hits[-1], f"sender domain {domain}"
    haystack = f" {fold(' '.join([mail.from_name or '', mail.subject or '', mail.text or '']))} "
    hits = [c for c in granted if c.org_name and f" {fold(c.org_name)} " in haystack]
    if len({c.cvr or c.id for c in hits}) == 1:
        return hits[-1], f"organisation name {hits[-1].org_name!r}"
    tried = f"CVR {', '.join(extraction.cvrs)}" if extraction.cvrs else "no CVR in the report"
    return None, f"{tried}; sender {sender or '-'}; no granted application of that organisation"


def find_open_report(s: Session, parent: Case) -> Case | None:
    """The newest undecided report on a granted application: more parts add to it."""
    return s.scalar(
        select(Case).where(Case.kind == MailKind.REPORT, Case.parent_pk == parent.id,
                           Case.status.in_(UNDECIDED))
        .order_by(Case.id.desc()).limit(1)
    )
