"""Normalisers for what Danish applicants type in the form: CVR, dates, numbers, phone,
e-mail, municipality, choices, free text.

Pure functions. Each returns the normalised value as described in
docs/contracts.md, or raises :class:`NormalizeError` (a ``ValueError``) with a
short English reason and a problem ``code``; nothing else escapes, whatever the
input. Never a guess: an ambiguous value is an error. Reading Danish numbers
and dates, and folding names, are :mod:`parsers.danish`'s; this module decides
what each field type of the field map accepts.

Stable API::

    NormalizeError(reason, code="field_malformed")   # subclass of ValueError
    cvr(text) -> str                    # "29190003"; code "cvr_check_digit" if modulus 11 fails
    date(text) -> str                   # ISO "2026-01-01"
    money(text) -> str                  # "1012497.75" (two decimals)
    money_decimal(text) -> Decimal      # Decimal("1012497.75")
    decimal(text) -> str                # "1.5", "950.50"
    integer(text) -> int
    share(text) -> Decimal              # "100 %" -> Decimal("1.00"), "0,75" -> Decimal("0.75")
    phone(text) -> str                  # "+45 12 34 56 78"
    email(text) -> str
    municipality(text) -> str           # official name without "Kommune"; code "municipality_unknown"
    choice(text, options) -> str        # the option's value ("nyansaettelse"), by its export
                                        #   value, value or printed label, in any spelling
    text(text) -> str                   # NFC, \r and \r\n -> \n, trimmed
    normalize(field_type, text, options=()) -> str | int   # dispatch by the field map's type
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal

from parsers.codes import ProblemCode
from parsers.danish import (
    NormalizeError,
    clean,
    fold_compact,
    municipality_name,
    parse_date,
    parse_money,
    parse_non_negative,
    parse_number_and_percent,
)
from parsers.fieldmap import ChoiceOption

# --- CVR --------------------------------------------------------------------

_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
_CVR_PREFIX = re.compile(r"^(?:cvr(?:[\s.-]*(?:nr|nummer)\.?)?[\s:.-]*)?(?:dk[\s:.-]*)?", re.I)


def cvr(value: str) -> str:
    """8 digits, spaces and a ``DK``/``CVR`` prefix allowed, modulus 11 (weights 2,7,6,5,4,3,2,1)."""
    v = clean(value)
    v = _CVR_PREFIX.sub("", v, count=1)
    digits = re.sub(r"[\s.-]", "", v)
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise NormalizeError("a CVR number has 8 digits")
    if digits[0] == "0":
        raise NormalizeError("a CVR number does not start with 0")
    if sum(int(d) * w for d, w in zip(digits, _CVR_WEIGHTS, strict=True)) % 11:
        raise NormalizeError("CVR check digit does not match (modulus 11)", code=ProblemCode.CVR_CHECK_DIGIT)
    return digits


def is_valid_cvr(value: str) -> bool:
    """True for exactly 8 digits that pass the modulus-11 check (no spaces or prefix)."""
    if not re.fullmatch(r"\d{8}", value or ""):
        return False
    try:
        return cvr(value) == value
    except NormalizeError:
        return False


# --- dates and numbers ----------------------------------------------------------


def date(value: str) -> str:
    """A Danish date as ISO ``YYYY-MM-DD``."""
    return parse_date(value).isoformat()


def money_decimal(value: str) -> Decimal:
    """An amount in kroner, rounded to øre (two decimals)."""
    return parse_money(value)


def money(value: str) -> str:
    """An amount as a string with two decimals: ``"1012497.75"``."""
    return str(parse_money(value))


def decimal(value: str) -> str:
    """A non-negative decimal number as a plain string (``"1.5"``, ``"950.50"``)."""
    number = parse_non_negative(value, percent_error="a number, not a percentage",
                                negative_error="a negative number")
    return format(number, "f")


def integer(value: str) -> int:
    """A whole non-negative number (``42``, ``1.200``)."""
    number, percent = parse_number_and_percent(value)
    if percent or number != number.to_integral_value() or number < 0:
        raise NormalizeError("a whole number is expected")
    return int(number)


def share(value: str) -> Decimal:
    """A share of the rate: ``100 %`` or ``1`` is ``Decimal("1.00")``, ``75 %`` or ``0,75`` is 0.75."""
    number, percent = parse_number_and_percent(value)
    if percent:
        number = number / 100
    elif number > 1:
        raise NormalizeError("a share above 1 without a % sign is ambiguous")
    if number < 0:
        raise NormalizeError("a negative share")
    return share_places(number)


def share_places(number: Decimal) -> Decimal:
    """A share with two decimals (``0.75``), or every decimal it has when it has more (``0.125``)."""
    exponent = number.as_tuple().exponent  # an int for every finite number
    if isinstance(exponent, int) and exponent >= -2:
        return number.quantize(Decimal("0.01"))
    return number.normalize()


# --- phone, e-mail ----------------------------------------------------------


def phone(value: str) -> str:
    """A Danish number of 8 digits, with or without +45/0045 and spaces -> ``+45 12 34 56 78``."""
    v = clean(value)
    digits = re.sub(r"[\s().-]", "", v)
    # a country code only in front of eight digits: "00450000" is a number, not 0045 and four digits
    if digits.startswith("+45") and len(digits) == 11:
        digits = digits[3:]
    elif digits.startswith("0045") and len(digits) == 12:
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
    v = clean(value, limit=320)
    v = re.sub(r"^mailto:", "", v, flags=re.I).strip().strip("<>").strip()
    if " " in v or v.count("@") != 1 or ".." in v:
        raise NormalizeError("not an e-mail address")
    if not (_EMAIL.fullmatch(v) or _EMAIL_IDN.fullmatch(v)):
        raise NormalizeError("not an e-mail address")
    local, _, domain = v.partition("@")
    if local.startswith(".") or local.endswith("."):
        raise NormalizeError("not an e-mail address")
    return f"{local}@{domain.lower()}"


# --- municipality, choice, text ------------------------------------------


def municipality(value: str) -> str:
    """One of Denmark's 98 municipalities, in any case or spelling -> the official name
    without "Kommune" (:func:`parsers.danish.municipality_name`)."""
    name = municipality_name(clean(value))
    if name is None:
        raise NormalizeError("not one of Denmark's 98 municipalities", code=ProblemCode.MUNICIPALITY_UNKNOWN)
    return name


def choice(value: str, options: Sequence[ChoiceOption]) -> str:
    """The value of the option ``value`` names: its PDF export value, its value or its printed
    label, in any case, with or without Danish letters (``/Forstaerkning``, ``Forstærkning af
    eksisterende indsats`` -> ``forstaerkning``). The options are the field map's."""
    if not isinstance(value, str):
        raise NormalizeError("not text")
    wanted = fold_compact(value.lstrip("/"))
    for opt in options:
        if wanted in (fold_compact(opt.export), fold_compact(opt.value), fold_compact(opt.label)):
            return opt.value
    raise NormalizeError("not one of the options")


def text(value: str) -> str:
    """Free text: NFC, line breaks as ``\\n`` (Acrobat writes ``\\r``), trimmed."""
    if not isinstance(value, str):
        raise NormalizeError("not text")
    v = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    v = "\n".join(line.rstrip() for line in v.split("\n")).strip()
    if not v:
        raise NormalizeError("empty")
    return v


_BY_TYPE: dict[str, Callable[[str], str | int]] = {
    "text": text, "cvr": cvr, "email": email, "phone": phone, "municipality": municipality,
    "decimal": decimal, "integer": integer, "money": money, "date": date,
}


def normalize(field_type: str, value: str, options: Sequence[ChoiceOption] = ()) -> str | int:
    """Normalise ``value`` for a field of the field map's ``field_type`` (a ``choice`` by its
    ``options``)."""
    if field_type == "choice":
        return choice(value, options)
    try:
        fn = _BY_TYPE[field_type]
    except KeyError:
        raise NormalizeError(f"unknown field type {field_type!r}") from None
    return fn(value)
