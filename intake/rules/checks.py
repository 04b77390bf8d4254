"""The checks every application gets (SPEC.md "Checks an application gets"). Pure.

Input is what extraction read (values and budget in the shapes of
``docs/contracts.md``), the attachments with their roles, the server's arrival
time and the pool; output is a list of problems ``{code, field, message,
severity}``. Every number (rates, shares, norm, activity funds, ceiling,
deadline) comes from the :class:`~intake.pool.Pool`; every text from
``config/problems.da.toml``.

Limits that are "per caretaker" (annual norm hours, activity funds per year,
the ceiling) are multiplied by the form's ``fte``; when ``fte`` is unknown those
checks are skipped (the missing field is a problem of its own).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from intake.pool import Pool
from intake.rules import texts as P
from parsers import danish, normalize
from store.words import AttachmentRole, CaseStatus

# SPEC.md marks these required; cvr, fte and amount_requested are needed by the
# other checks (identity, ceiling, budget total), so they are required as well.
DEFAULT_REQUIRED = ("org_name", "cvr", "contact_name", "contact_email", "departments",
                    "municipality", "fte", "amount_requested")

FORM = AttachmentRole.FORM
BUDGET = AttachmentRole.BUDGET
SPREADSHEET_TYPES = ("xlsx", "xlsm", "xls", "ods", "office-encrypted")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CENT = Decimal("0.01")
_HALF_CENT = Decimal("0.005")


# Beyond this no budget number is meant seriously; treating it as unreadable keeps
# the arithmetic inside Decimal's precision (a quantize would raise otherwise).
_ABSURD = Decimal(10) ** 15


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() and abs(d) < _ABSURD else None


def _value(fields: dict[str, Any], key: str) -> Any:
    entry = fields.get(key)
    if isinstance(entry, dict):
        entry = entry.get("value")
    return None if entry in (None, "") else entry


def _attr(att: Any, name: str) -> Any:
    return att.get(name) if isinstance(att, dict) else getattr(att, name, None)


def type_name(detected: str | None) -> str:
    """How a detected file type is called in a Danish message."""
    return P.catalogue().get("types", {}).get(detected or "unknown", detected or "ukendt")


# --- deadline ---------------------------------------------------------------------

def check_deadline(received_at: dt.datetime, pool: Pool, deadline: str = "application_deadline",
                   code: str = "late") -> list[dict]:
    """Late when the server received the mail after the deadline day ended (local time)."""
    if received_at < pool.deadline_end(deadline):
        return []
    last_moment = pool.deadline_end(deadline) - dt.timedelta(minutes=1)
    return [P.render(code, None, {"received": danish.datetime_da(received_at, pool.timezone),
                                  "deadline": danish.datetime_da(last_moment, pool.timezone)})]


# --- attachments ------------------------------------------------------------------

def check_attachments(attachments: Sequence[Any]) -> list[dict]:
    """No form, no budget, or one sent in a format we cannot read; zip files are not opened."""
    out = []
    form = next((a for a in attachments if _attr(a, "role") == FORM), None)
    budget = next((a for a in attachments if _attr(a, "role") == BUDGET), None)
    if form is None:
        out.append(P.render("form_missing"))
    elif _attr(form, "detected_type") != "pdf":
        out.append(P.render("form_unsupported_format", None, {
            "filename": _attr(form, "filename") or "", "type": type_name(_attr(form, "detected_type"))}))
    for a in attachments:
        if _attr(a, "detected_type") == "zip":
            out.append(P.render("zip_not_opened", None, {"filename": _attr(a, "filename") or ""}))
    if budget is None:
        out.append(P.render("budget_missing"))
    elif _attr(budget, "detected_type") not in SPREADSHEET_TYPES:
        out.append(P.render("budget_unsupported_format", None, {
            "filename": _attr(budget, "filename") or "", "type": type_name(_attr(budget, "detected_type"))}))
    return out


# --- form fields ------------------------------------------------------------------

def check_fields(fields: dict[str, Any], flagged: set[str],
                 required: Iterable[str] = DEFAULT_REQUIRED) -> list[dict]:
    """Required fields present; CVR check digit; a known municipality; a usable e-mail; fte > 0.

    ``flagged`` are fields a reader already reported: they get no second problem.
    """
    out = []
    for key in required:
        if key not in flagged and _value(fields, key) is None:
            out.append(P.render("field_missing", key))
    cvr = _value(fields, "cvr")
    if cvr is not None and "cvr" not in flagged and not normalize.is_valid_cvr(str(cvr)):
        out.append(P.render("cvr_check_digit", "cvr", {"raw": cvr}))
    town = _value(fields, "municipality")
    if town is not None and "municipality" not in flagged and danish.municipality_name(str(town)) is None:
        out.append(P.render("municipality_unknown", "municipality", {"raw": town}))
    email = _value(fields, "contact_email")
    if email is not None and "contact_email" not in flagged and not _EMAIL.match(str(email)):
        out.append(P.render("email_invalid", "contact_email", {"value": email}))
    fte = _dec(_value(fields, "fte"))
    if fte is not None and "fte" not in flagged and fte <= 0:
        out.append(P.render("fte_not_positive", "fte", {"value": danish.number_da(fte)}))
    return out


def check_partners(fields: dict[str, Any], flagged: set[str],
                   required: Iterable[str] = DEFAULT_REQUIRED) -> list[dict]:
    """Collaboration with the municipality is a precondition: the partners must name one.

    Empty partners are ``field_missing`` when the field map requires them, else this problem.
    """
    if "partners" in flagged:
        return []
    partners = _value(fields, "partners")
    if partners is None and "partners" in required:
        return []
    if partners is not None and danish.names_a_municipality(str(partners)):
        return []
    return [P.render("partners_no_municipality", "partners")]


# --- budget -----------------------------------------------------------------------

def _year(key: str) -> int | None:
    m = re.search(r"(\d{4})$", key or "")
    return int(m.group(1)) if m else None


def check_budget(budget: dict[str, Any], fields: dict[str, Any], pool: Pool) -> list[dict]:
    """Rates, hours, shares, activity funds, ceiling, arithmetic, and the form's amount."""
    lines = budget.get("lines") or []
    if not lines:
        return []
    out: list[dict] = []
    fte = _dec(_value(fields, "fte"))
    fte = fte if fte is not None and fte > 0 else None
    fte_text = danish.number_da(fte) if fte is not None else ""
    rates = {r.year: r for r in pool.salary}
    amounts: list[Decimal | None] = []
    for line in lines:
        key = line.get("key") or ""
        year = _year(key)
        hours, rate = _dec(line.get("hours")), _dec(line.get("rate"))
        share, amount = _dec(line.get("share")), _dec(line.get("amount"))
        amounts.append(amount)
        if key.startswith("salary"):
            funded = rates.get(year)
            if funded is not None and rate is not None and rate > funded.hourly_rate:
                out.append(P.render("rate_above_funded", f"{key}.rate", {
                    "value": danish.kroner(rate), "limit": danish.kroner(funded.hourly_rate), "year": year}))
            if funded is not None and share is not None and share > funded.share:
                out.append(P.render("share_above_funded", f"{key}.share", {
                    "value": danish.percent_da(share), "limit": danish.percent_da(funded.share), "year": year}))
            if hours is not None and fte is not None:
                norm = pool.annual_norm_hours * fte
                params = {"value": danish.number_da(hours), "limit": danish.number_da(norm), "fte": fte_text}
                if hours > norm:
                    out.append(P.render("hours_above_norm", f"{key}.hours", params))
                elif hours < norm:
                    out.append(P.render("hours_below_norm", f"{key}.hours", params))
            if None not in (hours, rate, share, amount):
                # within half an øre of the exact product: any rounding to øre is right
                exact = hours * rate * share
                expected = exact.quantize(_CENT, ROUND_HALF_UP)
                if abs(amount - exact) > _HALF_CENT:
                    out.append(P.render("line_arithmetic", f"{key}.amount", {
                        "value": danish.kroner(amount), "expected": danish.kroner(expected)}))
        elif key.startswith("activity") and amount is not None and fte is not None:
            limit = pool.activity_funds_per_year * fte
            if amount > limit:
                out.append(P.render("activity_above_max", f"{key}.amount", {
                    "value": danish.kroner(amount), "limit": danish.kroner(limit), "fte": fte_text}))
    total = _dec(budget.get("total"))
    if total is None:
        return out
    if amounts and None not in amounts:
        expected = sum(amounts, Decimal(0)).quantize(_CENT)
        if total.quantize(_CENT) != expected:
            out.append(P.render("total_arithmetic", "total", {
                "value": danish.kroner(total), "expected": danish.kroner(expected)}))
    if fte is not None:
        # rounded up to whole øre, as a budget rounding each line (Excel's ROUND) may reach it
        ceiling = (pool.ceiling_per_fte * fte).quantize(_CENT, ROUND_HALF_UP)
        if total > ceiling:
            out.append(P.render("total_above_ceiling", "total", {
                "value": danish.kroner(total), "limit": danish.kroner(ceiling), "fte": fte_text}))
    requested = _dec(_value(fields, "amount_requested"))
    if requested is not None and requested.quantize(_CENT) != total.quantize(_CENT):
        out.append(P.render("total_differs_from_form", "amount_requested", {
            "value": danish.kroner(total), "requested": danish.kroner(requested)}))
    return out


# --- everything ---------------------------------------------------------------------

def _form_unreadable(attachments: Sequence[Any], fields: dict, read_problems: list[dict]) -> bool:
    form = next((a for a in attachments if _attr(a, "role") == FORM), None)
    if form is None or _attr(form, "detected_type") != "pdf":
        return True
    if fields:
        return False
    return any(p.get("part") == FORM and not p.get("field") for p in read_problems)


def check_application(fields: dict[str, Any], budget: dict[str, Any], attachments: Sequence[Any],
                      received_at: dt.datetime, pool: Pool, read_problems: list[dict],
                      required: Iterable[str] = DEFAULT_REQUIRED) -> list[dict]:
    """Every check of an application, in a stable order; returns rendered problems.

    ``read_problems`` come from the readers as ``{"code", "field", "params"}``
    (optionally ``"part": "form"|"budget"``); they are rendered and kept first
    after the deadline and attachment problems. Field checks are skipped when the
    form could not be read at all (its own problem says why).
    """
    out = check_deadline(received_at, pool)
    out += check_attachments(attachments)
    out += P.render_all(read_problems)
    flagged = {p["field"].split(".", 1)[0] for p in read_problems if p.get("field")}
    if not _form_unreadable(attachments, fields, read_problems):
        required = tuple(required)
        out += check_fields(fields, flagged, required)
        out += check_partners(fields, flagged, required)
    out += check_budget(budget or {}, fields, pool)
    return _dedupe(out)


def _dedupe(problems: list[dict]) -> list[dict]:
    seen, out = set(), []
    for p in problems:
        key = (p["code"], p.get("field"))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def status_for(problems: list[dict], late: bool) -> CaseStatus:
    """The status problems give: ``for sent`` if late, ``mangler`` on any error, else ``komplet``."""
    if late:
        return CaseStatus.LATE
    if any(p.get("severity") == P.ERROR for p in problems):
        return CaseStatus.INCOMPLETE
    return CaseStatus.COMPLETE
