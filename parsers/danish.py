"""Danish, the one place for it: folding, numbers, amounts, dates, the clock, municipalities.

Everything that reads or writes text the Danish way lives here, so a receipt,
a problem message, the digest and a spreadsheet say a date, an amount or a time
alike, and every comparison of names folds them by the same rules. Pure
functions: no database, no clock (times are shown in the zone the caller gives).

Reading raises :class:`NormalizeError` (a ``ValueError``) with a short English
reason and a problem ``code``; writing never raises (a value that is no number
is shown as it is).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources

from parsers.codes import ProblemCode

MAX_LEN = 200  # longer input is not a number, date, CVR or phone number
CENT = Decimal("0.01")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december")
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


class NormalizeError(ValueError):
    """A value that cannot be read; ``code`` is the problem code to report."""

    def __init__(self, reason: str, code: ProblemCode = ProblemCode.FIELD_MALFORMED):
        super().__init__(reason)
        self.reason = reason
        self.code = code


def clean(value: str, limit: int = MAX_LEN) -> str:
    """NFKC, every kind of space as one space, trimmed; empty or too long is an error."""
    if not isinstance(value, str):
        raise NormalizeError("not text")
    value = unicodedata.normalize("NFKC", value)
    value = value.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    value = " ".join(value.split())
    if not value:
        raise NormalizeError("empty")
    if len(value) > limit:
        raise NormalizeError("too long")
    return value


# --- folding -----------------------------------------------------------------

_LETTERS = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe"})
_NOT_ALNUM = re.compile(r"[\W_]+")
_DIGRAPHS = re.compile(r"ae|oe|aa")
_PLAIN = {"ae": "a", "oe": "o", "aa": "a"}


def fold(text: str) -> str:
    """Fold for comparing: no case, æ/ø/å as ae/oe/aa, no accents, punctuation as one space.

    ``"Boligselskabet Nord A/S"`` → ``"boligselskabet nord a s"``; ``"Høje-Taastrup"`` →
    ``"hoeje taastrup"``.
    """
    text = unicodedata.normalize("NFKC", text or "").casefold().translate(_LETTERS)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(_NOT_ALNUM.sub(" ", text).split())


def fold_compact(text: str) -> str:
    """:func:`fold` without spaces: ``"Høje Taastrup"`` and ``"Høje-Taastrup"`` are alike."""
    return fold(text).replace(" ", "")


def fold_loose(text: str) -> str:
    """:func:`fold` for text typed without Danish letters: æ/ae, ø/oe/o and å/aa/a are alike.

    ``"Ansøgning"``, ``"Ansoegning"`` and ``"Ansogning"`` all give ``"ansogning"``.
    """
    return _DIGRAPHS.sub(lambda m: _PLAIN[m.group(0)], fold(text))


# --- reading numbers -----------------------------------------------------------

_CURRENCY = re.compile(r"^(?:kr\.?|dkk)\s*|\s*(?:kr\.?|dkk|,-|,--|\.-)\s*$", re.I)
_GROUPED = re.compile(r"[0-9]{1,3}(?:([. ])[0-9]{3})(?:\1[0-9]{3})*")


def parse_number_and_percent(value: str) -> tuple[Decimal, bool]:
    """A Danish number and whether it carried a ``%`` sign (not yet divided by 100)."""
    v = clean(value)
    percent = False
    if v.endswith("%"):
        percent, v = True, v[:-1].strip()
    for _ in range(2):  # "kr. 1.000,-" has both a prefix and a suffix
        v = _CURRENCY.sub("", v).strip()
    if v.endswith("%") and not percent:
        percent, v = True, v[:-1].strip()
    sign = ""
    if v and v[0] in "-−+":
        sign = "-" if v[0] in "-−" else ""
        v = v[1:].strip()
    if not v:
        raise NormalizeError("not a number")
    if "," in v:
        whole, _, frac = v.partition(",")
        if not re.fullmatch(r"[0-9]+", frac):
            raise NormalizeError("not a number")
    elif v.count(".") == 1 and not re.fullmatch(r"[0-9]{1,3}\.[0-9]{3}", v):
        whole, _, frac = v.partition(".")  # "334.00", "1.5": a decimal point, not thousands
        if not re.fullmatch(r"[0-9]+", frac):
            raise NormalizeError("not a number")
    else:
        whole, frac = v, ""
    if not re.fullmatch(r"[0-9]+", whole):
        if not _GROUPED.fullmatch(whole):
            raise NormalizeError("not a number")
        whole = whole.replace(".", "").replace(" ", "")
    if len(whole.lstrip("0")) + len(frac) > 20:
        raise NormalizeError("too many digits")
    try:
        number = Decimal(f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}")
    except InvalidOperation:
        raise NormalizeError("not a number") from None
    return number, percent


def parse_number(value: str) -> Decimal:
    """A Danish number: ``1.012.497,75``, ``1012497,75 kr.``, ``1 012 497,75``, ``kr. 1.000,-``,
    ``1,5``; a ``%`` sign divides by 100."""
    number, percent = parse_number_and_percent(value)
    return number / 100 if percent else number


def parse_non_negative(value: str, *, percent_error: str, negative_error: str) -> Decimal:
    """A Danish number with no ``%`` sign and not below zero; else NormalizeError with the given text."""
    number, percent = parse_number_and_percent(value)
    if percent:
        raise NormalizeError(percent_error)
    if number < 0:
        raise NormalizeError(negative_error)
    return number


def parse_money(value: str) -> Decimal:
    """An amount in kroner with at most two decimals (``1.012.497,75``, ``500 000 kr.``)."""
    number = parse_non_negative(value, percent_error="an amount is not a percentage",
                                negative_error="a negative amount")
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        raise NormalizeError("an amount has at most two decimals")
    return number.quantize(CENT)


def parse_amount(text: str) -> Decimal | None:
    """An amount staff typed, as written (``"500.000"`` → 500000), or None when it is no
    amount: a percentage, negative, more than two decimals (never a guess)."""
    try:
        number, percent = parse_number_and_percent(text)
    except NormalizeError:
        return None
    if percent or number < 0 or number != number.quantize(CENT):
        return None
    return number


def to_decimal(value: object) -> Decimal | None:
    """A stored decimal string (or int) as ``Decimal``; None when absent or unreadable."""
    if value is None or isinstance(value, bool | float):
        return None  # floats never carry money here: the contract stores strings
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def money_str(value: object) -> str | None:
    """An amount as the contract's string with two decimals (``"1012497.75"``), or None."""
    d = to_decimal(value)
    return None if d is None or not d.is_finite() else str(d.quantize(CENT, rounding=ROUND_HALF_UP))


# --- reading dates ---------------------------------------------------------------

#: Month names and their short forms (``jan``, ``sept``) → the month's number.
MONTH_WORDS = {**{m[:3]: i for i, m in enumerate(MONTHS, 1)}, **{m: i for i, m in enumerate(MONTHS, 1)}, "sept": 9}
_WEEKDAY_WORDS = "(?:" + "|".join(WEEKDAYS) + ")"
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_NUMERIC = re.compile(r"([0-9]{1,2})\s*[./-]\s*([0-9]{1,2})\s*[./-]\s*([0-9]{4}|[0-9]{2})")
_WORDS = re.compile(r"([0-9]{1,2})\.?\s*([a-zæøå]+)\.?\s*([0-9]{4})")


def parse_date(value: str) -> dt.date:
    """A Danish date: ``1.1.2026``, ``01-01-2026``, ``1/1-2026``, ``1. januar 2026``,
    ``1. jan. 2026`` or ISO ``2026-01-01``."""
    v = clean(value).lower()
    v = re.sub(rf"^(?:{_WEEKDAY_WORDS}\s*,?\s*)?(?:den\s+)?", "", v)
    if m := _ISO.fullmatch(v):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _NUMERIC.fullmatch(v):
        d, mo, y = int(m[1]), int(m[2]), int(m[3]) + (2000 if len(m[3]) == 2 else 0)
    elif m := _WORDS.fullmatch(v):
        if m[2] not in MONTH_WORDS:
            raise NormalizeError(f"unknown month {m[2]!r}")
        d, mo, y = int(m[1]), MONTH_WORDS[m[2]], int(m[3])
    else:
        raise NormalizeError("not a date (write e.g. 1.1.2026)")
    if not 1900 <= y <= 2199:
        raise NormalizeError("year out of range")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise NormalizeError("no such day") from None


# --- writing numbers and amounts ---------------------------------------------------


def _group(digits: str) -> str:
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return ".".join(groups)


def number_da(value: object, decimals: int | None = None) -> str:
    """A number the Danish way: ``1649`` → ``1.649``, ``1.50`` → ``1,5``, with ``decimals``
    fixed (``number_da("2", 2)`` → ``2,00``). Empty for None; what is no number is shown as it is."""
    if value is None or value == "":
        return ""
    d = to_decimal(value) if not isinstance(value, Decimal) else value
    if d is None or not d.is_finite():
        return str(value)
    if decimals is not None:
        d = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    elif d == d.to_integral_value():
        d = d.quantize(Decimal(1))
    else:
        d = d.normalize()
    whole, _, frac = format(abs(d), "f").partition(".")
    return ("-" if d < 0 else "") + _group(whole) + ("," + frac if frac else "")


def kroner(value: object) -> str:
    """An amount with two decimals and ``kr.``: ``1012497.75`` → ``1.012.497,75 kr.``.

    Empty for None or ``""``; anything that is no amount is shown unchanged.
    """
    text = number_da(value, 2)
    return f"{text} kr." if text and to_decimal(value) is not None else text


def percent_da(share: object) -> str:
    """A share as a percentage: ``0.75`` → ``75 %``."""
    d = to_decimal(share)
    return str(share) if d is None else f"{number_da(d * 100)} %"


def pages_da(pages: object) -> str:
    """A number of pages as written in a sentence: ``1.5`` → ``1½``, ``2`` → ``2``, ``1.6`` → ``1,6``."""
    d = to_decimal(pages)
    if d is not None and d.is_finite() and d >= 1 and d % 1 == Decimal("0.5"):
        return f"{_group(str(int(d)))}½"
    return number_da(pages)


def size_da(size: int) -> str:
    """A file size for people: ``26214400`` → ``25 MB``, ``1536`` → ``1,5 kB``."""
    for unit, factor in (("MB", 1024 * 1024), ("kB", 1024)):
        if size >= factor:
            return f"{number_da((Decimal(size) / factor).quantize(Decimal('0.1')))} {unit}"
    return f"{size} bytes"


# --- writing dates and times --------------------------------------------------------


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
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
    else:
        day = value
    text = f"{day.day}. {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def clock_da(value: dt.datetime | dt.time) -> str:
    """The time of day as Danes write it: ``kl. 14.00``."""
    return f"kl. {value:%H.%M}"


def deadline_da(day: dt.date | str | None, weekday: bool = False) -> str:
    """A deadline day with its last minute (it counts until it ends): ``1. august 2025 kl. 23.59``."""
    text = date_da(day, weekday=weekday)
    return f"{text} {clock_da(dt.time(23, 59))}" if text else ""


def quarter_da(year: int, number: int) -> str:
    """A quarter of a year as written in a sentence: ``1. kvartal 2026``."""
    return f"{number}. kvartal {year}"


def datetime_da(ts: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``1. august 2025 kl. 23.59`` in the given time zone; empty for None."""
    if ts is None:
        return ""
    local = ts.astimezone(tz)
    return f"{date_da(local.date())} {clock_da(local)}"


def timestamp_da(ts: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``25.07.2025 kl. 14.00`` in the given time zone (compact, for staff tables); ``-`` when unknown."""
    if ts is None:
        return "-"
    local = ts.astimezone(tz)
    return f"{local:%d.%m.%Y} {clock_da(local)}"


# --- municipalities ----------------------------------------------------------------


@dataclass(frozen=True)
class Municipalities:
    """Denmark's municipalities: official names and other ways people write them."""

    names: tuple[str, ...]
    aliases: dict[str, str]


@cache
def municipalities() -> Municipalities:
    """Denmark's 98 municipalities from ``config/municipalities.toml`` (an error if it is missing)."""
    text = resources.files("config").joinpath("municipalities.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Municipalities(names=tuple(data["municipalities"]), aliases=dict(data.get("aliases", {})))


@cache
def _municipality_index() -> tuple[dict[str, str], dict[str, str]]:
    """(compact fold → name, loose compact fold → name); a loose spelling two names share is left out."""
    m = municipalities()
    pairs = [(n, n) for n in m.names] + list(m.aliases.items())
    exact = {fold_compact(spelling): name for spelling, name in pairs}
    loose: dict[str, str] = {}
    clashes = set()
    for spelling, name in pairs:
        key = fold_loose(spelling).replace(" ", "")
        if loose.get(key, name) != name:
            clashes.add(key)
        loose[key] = name
    for key in clashes:
        del loose[key]
    return exact, loose


_KOMMUNE = re.compile(r"\s*(?:regionskommune|kommune)\s*$|^\s*(?:kommune)\s*[:-]?\s*", re.I)


def municipality_name(text: str) -> str | None:
    """The official name (without "Kommune") of the municipality ``text`` names, or None.

    Case, "Kommune", hyphens and spaces do not matter, nor æ/ø/å written as ae/oe/aa
    or a/o; a town is not a municipality, and nothing is guessed.
    """
    base = _KOMMUNE.sub("", text).strip()
    if not base:
        return None
    exact, loose = _municipality_index()
    for candidate in (base, text):
        if (name := exact.get(fold_compact(candidate))) is not None:
            return name
    for candidate in (base, text):
        if (name := loose.get(fold_loose(candidate).replace(" ", ""))) is not None:
            return name
    return None


def names_a_municipality(text: str) -> bool:
    """True when the text says "kommune" or names one of the municipalities."""
    folded = f" {fold(text)} "
    if "kommune" in folded:  # also "Aarhuskommune"
        return True
    return any(f" {fold(name)} " in folded for name in municipalities().names)
