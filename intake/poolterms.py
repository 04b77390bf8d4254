"""The pool file's terms of a grant: its quarters, how grantees reach us, the letters' conditions.

Read by ``intake/pool.py`` (which also reads ``[documentation]``, built like
``[report]``); every error names the file and the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from intake.errors import ConfigError
from intake.tables import Table
from parsers.quarters import Quarter


@dataclass(frozen=True)
class Contact:
    """How grantees reach the secretariat, and how soon we answer: the end of every letter."""

    phone: str
    hours: str
    privacy_url: str
    handling_days: int  # working days within which we answer mail and approve documentation


@dataclass(frozen=True)
class Letters:
    """Decision letters: the grant's conditions (with ``{placeholders}``) and the digest's warning."""

    conditions: tuple[str, ...]
    answer_warning_days: int  # the digest warns about applicants without an answer from then


def parse_quarters(data: dict[str, Any], source: str) -> tuple[Quarter, ...]:
    """``[[quarters]]``: calendar quarters in order, each with its own days (a typo is caught)."""
    out: list[Quarter] = []
    items = data.get("quarters", [])
    if not isinstance(items, list):
        raise ConfigError(f"{source}: quarters must be a list of tables ([[quarters]])")
    for i, item in enumerate(items):
        t = Table(item if isinstance(item, dict) else {}, f"[[quarters]] #{i + 1}", source)
        t.check_unknown({"id", "start", "end"})
        try:
            quarter = Quarter.parse(t.get("id", str))
        except ValueError as exc:
            raise t._err("id", str(exc)) from None
        for key, day in (("start", quarter.start), ("end", quarter.end)):
            if t.get(key, dt.date) != day:
                raise t._err(key, f"{quarter.id} runs from {quarter.start} to {quarter.end}")
        if out and quarter <= out[-1]:
            raise t._err("id", "quarters must be listed in order, each once")
        out.append(quarter)
    return tuple(out)


def parse_contact(data: dict[str, Any], source: str) -> Contact | None:
    """``[contact]``: phone, opening hours, the privacy notice's address, the handling time."""
    if "contact" not in data:
        return None
    t = Table(data["contact"] if isinstance(data["contact"], dict) else {}, "[contact]", source)
    t.check_unknown({"phone", "hours", "privacy_url", "handling_days"})
    url = t.get("privacy_url", str)
    if not url.startswith("https://"):
        raise t._err("privacy_url", "must be an https:// address")
    days = t.get("handling_days", int)
    if days <= 0:
        raise t._err("handling_days", "must be above 0")
    return Contact(phone=t.get("phone", str), hours=t.get("hours", str), privacy_url=url, handling_days=days)


def parse_letters(data: dict[str, Any], source: str) -> Letters | None:
    """``[letters]``: the conditions a grant letter lists, and when the digest starts warning."""
    if "letters" not in data:
        return None
    t = Table(data["letters"] if isinstance(data["letters"], dict) else {}, "[letters]", source)
    t.check_unknown({"conditions", "answer_warning_days"})
    conditions = t.get("conditions", list)
    if not all(isinstance(c, str) and c.strip() for c in conditions):
        raise t._err("conditions", "must be a list of sentences")
    days = t.get("answer_warning_days", int)
    if days < 0:
        raise t._err("answer_warning_days", "must be 0 or more")
    return Letters(conditions=tuple(conditions), answer_warning_days=days)
