"""Normalisers for what Danish applicants type: CVR, dates, numbers, phone, e-mail, municipality.

Pure functions. Each returns the normalised value as described in
docs/contracts.md, or raises :class:`NormalizeError` (a ``ValueError``) with a
short English reason and a problem ``code``; nothing else escapes, whatever the
input. Never a guess: an ambiguous value is an error.

Stable API::

    NormalizeError(reason, code="field_malformed")   # subclass of ValueError
    cvr(text) -> str                    # "29190003"; code "cvr_check_digit" if modulus 11 fails
    parse_date(text) -> datetime.date
    date(text) -> str                   # ISO "2026-01-01"
    parse_number(text) -> Decimal       # "1.012.497,75", "334,00 kr.", "1 012 497,75"
    money(text) -> str                  # "1012497.75" (two decimals)
    money_decimal(text) -> Decimal      # Decimal("1012497.75")
    decimal(text) -> str                # "1.5", "950.50"
    integer(text) -> int
    share(text) -> Decimal              # "100 %" -> Decimal("1.00"), "0,75" -> Decimal("0.75")
    phone(text) -> str                  # "+45 12 34 56 78"
    email(text) -> str
    municipality(text) -> str           # official name without "Kommune" (also ae/oe/aa or o/a
                                        #   for æ/ø/å); code "municipality_unknown"
    hire_type(text) -> str              # "nyansaettelse" | "forstaerkning"
    text(text) -> str                   # NFC, \r and \r\n -> \n, trimmed
    normalize(field_type, text) -> str | int   # dispatch by the field map's type
    format_number_da(value, decimals=2) -> str # Decimal("1012497.75") -> "1.012.497,75"
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

MAX_LEN = 200  # longer input is not a number, date, CVR or phone number


class NormalizeError(ValueError):
    """A value that cannot be normalised; ``code`` is the problem code to report."""

    def __init__(self, reason: str, code: str = "field_malformed"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _clean(value: str, limit: int = MAX_LEN) -> str:
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


# --- CVR --------------------------------------------------------------------

_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
_CVR_PREFIX = re.compile(r"^(?:cvr(?:[\s.-]*(?:nr|nummer)\.?)?[\s:.-]*)?(?:dk[\s:.-]*)?", re.I)


def cvr(value: str) -> str:
    """8 digits, spaces and a ``DK``/``CVR`` prefix allowed, modulus 11 (weights 2,7,6,5,4,3,2,1)."""
    v = _clean(value)
    v = _CVR_PREFIX.sub("", v, count=1)
    digits = re.sub(r"[\s.-]", "", v)
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise NormalizeError("a CVR number has 8 digits")
    if digits[0] == "0":
        raise NormalizeError("a CVR number does not start with 0")
    if sum(int(d) * w for d, w in zip(digits, _CVR_WEIGHTS, strict=True)) % 11:
        raise NormalizeError("CVR check digit does not match (modulus 11)", code="cvr_check_digit")
    return digits


def is_valid_cvr(value: str) -> bool:
    """True for exactly 8 digits that pass the modulus-11 check (no spaces or prefix)."""
    if not re.fullmatch(r"\d{8}", value or ""):
        return False
    try:
        return cvr(value) == value
    except NormalizeError:
        return False


# --- dates ------------------------------------------------------------------

_MONTHS = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "marts": 3, "mar": 3, "april": 4, "apr": 4,
    "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
_WEEKDAYS = r"(?:mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag)"
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_NUMERIC = re.compile(r"([0-9]{1,2})\s*[./-]\s*([0-9]{1,2})\s*[./-]\s*([0-9]{4}|[0-9]{2})")
_WORDS = re.compile(r"([0-9]{1,2})\.?\s*([a-zæøå]+)\.?\s*([0-9]{4})")


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) == 2 else year


def parse_date(value: str) -> dt.date:
    """A Danish date: ``1.1.2026``, ``01-01-2026``, ``1/1-2026``, ``1. januar 2026``,
    ``1. jan. 2026`` or ISO ``2026-01-01``."""
    v = _clean(value).lower()
    v = re.sub(rf"^(?:{_WEEKDAYS}\s*,?\s*)?(?:den\s+)?", "", v)
    if m := _ISO.fullmatch(v):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _NUMERIC.fullmatch(v):
        d, mo, y = int(m[1]), int(m[2]), _year(m[3])
    elif m := _WORDS.fullmatch(v):
        if m[2] not in _MONTHS:
            raise NormalizeError(f"unknown month {m[2]!r}")
        d, mo, y = int(m[1]), _MONTHS[m[2]], int(m[3])
    else:
        raise NormalizeError("not a date (write e.g. 1.1.2026)")
    if not 1900 <= y <= 2199:
        raise NormalizeError("year out of range")
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise NormalizeError("no such day") from None


def date(value: str) -> str:
    """A Danish date as ISO ``YYYY-MM-DD``."""
    return parse_date(value).isoformat()


# --- numbers ----------------------------------------------------------------

_CURRENCY = re.compile(r"^(?:kr\.?|dkk)\s*|\s*(?:kr\.?|dkk|,-|,--|\.-)\s*$", re.I)
_GROUPED = re.compile(r"[0-9]{1,3}(?:([. ])[0-9]{3})(?:\1[0-9]{3})*")


def _parse_number(value: str) -> tuple[Decimal, bool]:
    """The number and whether it carried a % sign."""
    v = _clean(value)
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
    number, percent = _parse_number(value)
    return number / 100 if percent else number


def money_decimal(value: str) -> Decimal:
    """An amount in kroner, rounded to øre (two decimals)."""
    number, percent = _parse_number(value)
    if percent:
        raise NormalizeError("an amount is not a percentage")
    if number < 0:
        raise NormalizeError("a negative amount")
    if number != number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise NormalizeError("an amount has at most two decimals")
    return number.quantize(Decimal("0.01"))


def money(value: str) -> str:
    """An amount as a string with two decimals: ``"1012497.75"``."""
    return str(money_decimal(value))


def decimal(value: str) -> str:
    """A non-negative decimal number as a plain string (``"1.5"``, ``"950.50"``)."""
    number, percent = _parse_number(value)
    if percent:
        raise NormalizeError("a number, not a percentage")
    if number < 0:
        raise NormalizeError("a negative number")
    return format(number, "f")


def integer(value: str) -> int:
    """A whole non-negative number (``42``, ``1.200``)."""
    number, percent = _parse_number(value)
    if percent or number != number.to_integral_value() or number < 0:
        raise NormalizeError("a whole number is expected")
    return int(number)


def share(value: str) -> Decimal:
    """A share of the rate: ``100 %`` or ``1`` is ``Decimal("1.00")``, ``75 %`` or ``0,75`` is 0.75."""
    number, percent = _parse_number(value)
    if percent:
        number = number / 100
    elif number > 1:
        raise NormalizeError("a share above 1 without a % sign is ambiguous")
    if number < 0:
        raise NormalizeError("a negative share")
    return number.quantize(Decimal("0.01")) if number.as_tuple().exponent >= -2 else number.normalize()


def format_number_da(value: Decimal | int, decimals: int = 2) -> str:
    """Format the Danish way: ``Decimal("1012497.75")`` -> ``"1.012.497,75"``."""
    q = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, _, frac = format(abs(q), "f").partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + ".".join(groups) + ("," + frac if frac else "")


# --- phone, e-mail ----------------------------------------------------------


def phone(value: str) -> str:
    """A Danish number of 8 digits, with or without +45/0045 and spaces -> ``+45 12 34 56 78``."""
    v = _clean(value)
    digits = re.sub(r"[\s().-]", "", v)
    if digits.startswith("+45"):
        digits = digits[3:]
    elif digits.startswith("0045"):
        digits = digits[4:]
    elif len(digits) == 10 and digits.startswith("45"):
        digits = digits[2:]
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise NormalizeError("a Danish phone number has 8 digits")
    return "+45 " + " ".join(digits[i:i + 2] for i in range(0, 8, 2))


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
_EMAIL_IDN = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}")


def email(value: str) -> str:
    """An e-mail address (``mailto:`` and ``<>`` removed, domain in lower case)."""
    v = _clean(value, limit=320)
    v = re.sub(r"^mailto:", "", v, flags=re.I).strip().strip("<>").strip()
    if " " in v or v.count("@") != 1 or ".." in v:
        raise NormalizeError("not an e-mail address")
    if not (_EMAIL.fullmatch(v) or _EMAIL_IDN.fullmatch(v)):
        raise NormalizeError("not an e-mail address")
    local, _, domain = v.partition("@")
    if local.startswith(".") or local.endswith("."):
        raise NormalizeError("not an e-mail address")
    return f"{local}@{domain.lower()}"


# --- municipality, hire type, text ------------------------------------------


def fold(value: str) -> str:
    """Fold for comparing names: lower case, æ/ø/å -> ae/oe/aa, hyphens and spaces removed."""
    v = unicodedata.normalize("NFKC", value).casefold()
    v = v.replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("ä", "ae").replace("ö", "oe")
    v = unicodedata.normalize("NFKD", v)
    v = "".join(ch for ch in v if ch.isalnum())
    return v


def _plain(value: str) -> str:
    """A looser fold for names typed without Danish letters: ø -> o, å -> a (``Hoje-Taastrup``)."""
    v = unicodedata.normalize("NFKC", value).casefold().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    v = unicodedata.normalize("NFKD", v)
    return "".join(ch for ch in v if ch.isalnum())


@cache
def _municipality_index() -> tuple[dict[str, str], dict[str, str]]:
    """(exact fold -> name, loose fold -> name); a loose spelling shared by two names is left out."""
    from parsers.fieldmap import load_municipalities

    m = load_municipalities()
    pairs = [(n, n) for n in m.names] + list(m.aliases.items())
    exact = {fold(spelling): name for spelling, name in pairs}
    loose: dict[str, str] = {}
    clashes = set()
    for spelling, name in pairs:
        key = _plain(spelling)
        if loose.get(key, name) != name:
            clashes.add(key)
        loose[key] = name
    for key in clashes:
        del loose[key]
    return exact, loose


_KOMMUNE = re.compile(r"\s*(?:regionskommune|kommune)\s*$|^\s*(?:kommune)\s*[:-]?\s*", re.I)


def municipality(value: str) -> str:
    """One of Denmark's 98 municipalities, with or without "Kommune", in any case or
    spelling (ae/oe/aa) -> the official name without "Kommune"."""
    v = _clean(value)
    base = _KOMMUNE.sub("", v).strip()
    if not base:
        raise NormalizeError("no municipality named", code="municipality_unknown")
    exact, loose = _municipality_index()
    for candidate in (base, v):
        if (name := exact.get(fold(candidate))) is not None:
            return name
    for candidate in (base, v):
        if (name := loose.get(_plain(candidate))) is not None:
            return name
    raise NormalizeError("not one of Denmark's 98 municipalities", code="municipality_unknown")


_HIRE = {"nyansaettelse": "nyansaettelse", "forstaerkning": "forstaerkning",
         "forstaerkningafeksisterendeindsats": "forstaerkning"}


def hire_type(value: str) -> str:
    """``Nyansættelse``/``Nyansaettelse`` -> ``nyansaettelse``; ``Forstærkning`` -> ``forstaerkning``."""
    v = _clean(value).lstrip("/")
    key = _HIRE.get(fold(v))
    if key is None:
        raise NormalizeError("neither new hire nor reinforcement")
    return key


def text(value: str) -> str:
    """Free text: NFC, line breaks as ``\\n`` (Acrobat writes ``\\r``), trimmed."""
    if not isinstance(value, str):
        raise NormalizeError("not text")
    v = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    v = "\n".join(line.rstrip() for line in v.split("\n")).strip()
    if not v:
        raise NormalizeError("empty")
    return v


_BY_TYPE = {
    "text": text, "cvr": cvr, "email": email, "phone": phone, "municipality": municipality,
    "decimal": decimal, "integer": integer, "money": money, "date": date, "choice": hire_type,
}


def normalize(field_type: str, value: str) -> str | int:
    """Normalise ``value`` for a field of the field map's ``field_type``."""
    try:
        fn = _BY_TYPE[field_type]
    except KeyError:
        raise NormalizeError(f"unknown field type {field_type!r}") from None
    return fn(value)
