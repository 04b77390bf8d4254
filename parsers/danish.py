"""Danish formatting and parsing of amounts, numbers and dates: the one place for it.

Used by the mail templates (the Jinja filters ``dato``, ``kr`` and ``tal`` in
``notifications.render``), the receipts and reminders, the staff digest, the
exports and the decisions import. Pure functions: no database, no clock.
Amounts are ``Decimal``; times are aware datetimes shown in the time zone the
caller passes (the pool's).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december")
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal | None:
    """A stored decimal string (or int) as ``Decimal``; None when absent or unreadable."""
    if value is None or isinstance(value, bool) or isinstance(value, float):
        return None  # floats never carry money here: the contract stores strings
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def money_str(value: object) -> str | None:
    """An amount as the contract's string with two decimals (``"1012497.75"``), or None."""
    d = to_decimal(value)
    return None if d is None else str(d.quantize(CENT, rounding=ROUND_HALF_UP))


def kroner(value: object) -> str:
    """An amount the Danish way: ``1.012.497,75 kr.``.

    Empty for None or ``""``; anything that is no amount is shown unchanged
    rather than hidden or guessed at.
    """
    if value is None or value == "":
        return ""
    d = to_decimal(value)
    if d is None or not d.is_finite():
        return str(value)
    text = f"{d.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"  # 1,012,497.75
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") + " kr."


def number_da(value: object) -> str:
    """A decimal with a decimal comma and no pointless zeros (``1,5``); empty for None.

    Anything that is no number is shown unchanged.
    """
    if value is None or value == "":
        return ""
    d = to_decimal(value)
    if d is None or not d.is_finite():
        return str(value)
    return f"{d.normalize():f}".replace(".", ",")


def date_da(value: dt.date | str | None, weekday: bool = False) -> str:
    """``1. august 2025`` (with ``weekday``: ``fredag 1. august 2025``).

    An ISO date string is read first (a string that is no date is shown
    unchanged); empty for None. A datetime shows its own calendar day: convert
    it to the pool's time zone first.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    text = f"{value.day}. {MONTHS[value.month - 1]} {value.year}"
    return f"{WEEKDAYS[value.weekday()]} {text}" if weekday else text


def datetime_da(ts: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``1. august 2025 kl. 23.59`` in the given time zone (mails to applicants); empty for None."""
    if ts is None:
        return ""
    local = ts.astimezone(tz)
    return f"{date_da(local.date())} kl. {local:%H.%M}"


def timestamp_da(ts: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``25.07.2025 kl. 14.00`` in the given time zone (compact, for staff tables); ``-`` when unknown."""
    if ts is None:
        return "-"
    local = ts.astimezone(tz)
    return f"{local:%d.%m.%Y} kl. {local:%H.%M}"


_KR = re.compile(r"^(kr\.?|dkk)\s*|\s*(kr\.?|dkk|,-|\.-)$", re.IGNORECASE)


def parse_amount(text: str) -> Decimal | None:
    """Read an amount staff typed: ``1.012.497,75``, ``1012497,75``, ``1012497.75``, ``500 000 kr.``.

    A dot followed by groups of three digits is a thousands separator (Danish);
    a single dot followed by one or two digits is a decimal point. Returns None
    for anything else rather than guessing.
    """
    s = text.replace("\u00a0", " ").strip()
    s = _KR.sub("", s).strip()
    s = s.replace(" ", "")
    if not s:
        return None
    if "," in s:
        whole, _, frac = s.rpartition(",")
        if not re.fullmatch(r"\d{1,3}(\.\d{3})*|\d+", whole) or not re.fullmatch(r"\d{1,2}", frac):
            return None
        return Decimal(whole.replace(".", "") + "." + frac)
    if re.fullmatch(r"\d+", s):
        return Decimal(s)
    if re.fullmatch(r"\d+\.\d{1,2}", s):
        return Decimal(s)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
        return Decimal(s.replace(".", ""))
    return None
