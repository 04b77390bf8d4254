"""Normalisers: what Danish applicants type becomes one exact value, or a ValueError."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import danish
from parsers import normalize as n
from parsers.danish import municipalities as load_municipalities
from parsers.fieldmap import load_fieldmap

MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december"]
SHORT = ["jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."]


def cvr_with_check(prefix7: str) -> str | None:
    """Complete 7 digits to a valid CVR number (None if no 8th digit works)."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    s = sum(int(d) * w for d, w in zip(prefix7, weights, strict=True))
    last = (-s) % 11
    return None if last == 10 else prefix7 + str(last)


@pytest.mark.parametrize("raw", ["29190003", "29 19 00 03", "DK29190003", "DK-29190003", "CVR 29190003",
                                 "CVR-nr. 2919 0003", " 29190003 "])
def test_cvr_accepts_usual_writings(raw):
    assert n.cvr(raw) == "29190003"


def test_cvr_check_digit_and_shape():
    with pytest.raises(ValueError) as e:
        n.cvr("29190004")
    assert e.value.code == "cvr_check_digit"
    for bad in ("2919000", "291900031", "abcdefgh", "", "29190003x"):
        with pytest.raises(ValueError) as e:
            n.cvr(bad)
        assert e.value.code == "field_malformed"


@pytest.mark.parametrize("raw", ["1.1.2026", "01.01.2026", "01-01-2026", "1/1-2026", "1/1/2026",
                                 "1. januar 2026", "1. jan. 2026", "1 jan 2026", "2026-01-01",
                                 "torsdag den 1. januar 2026", "1.1.26", "1. Januar 2026"])
def test_dates(raw):
    assert n.date(raw) == "2026-01-01"


@pytest.mark.parametrize("raw", ["31.2.2026", "1.13.2026", "januar 2026", "2026", "1. foo 2026", "snart"])
def test_bad_dates(raw):
    with pytest.raises(ValueError):
        n.date(raw)


@pytest.mark.parametrize("raw", ["1.012.497,75", "1012497,75 kr.", "1 012 497,75", "kr. 1.012.497,75",
                                 "1012497,75", "DKK 1.012.497,75", "1.012.497,75 kr", "1012497.75"])
def test_money(raw):
    assert n.money(raw) == "1012497.75"
    assert n.money_decimal(raw) == Decimal("1012497.75")


def test_numbers_of_other_kinds():
    assert n.money("334,00 kr.") == "334.00"
    assert n.money("20.000") == "20000.00"
    assert n.money("kr. 20.000,-") == "20000.00"
    assert n.share("100 %") == Decimal("1.00")
    assert n.share("75 %") == Decimal("0.75")
    assert n.share("0,75") == Decimal("0.75")
    assert n.share("1") == Decimal("1.00")
    assert n.decimal("1,5") == "1.5"
    assert n.decimal("950,50") == "950.50"
    assert n.integer("42") == 42
    assert n.integer("1.649") == 1649
    assert danish.parse_number("-3,5") == Decimal("-3.5")
    for bad, fn in [("1,5", n.integer), ("ca. 40", n.integer), ("75", n.share), ("1,012,497.75", n.money),
                    ("12,345", n.money), ("10 %", n.money), ("1.2.3", n.decimal), ("-5", n.money)]:
        with pytest.raises(ValueError):
            fn(bad)


@pytest.mark.parametrize("raw", ["12345678", "12 34 56 78", "+45 12 34 56 78", "+4512345678", "0045 12345678",
                                 "(+45) 12-34-56-78", "4512345678"])
def test_phone(raw):
    assert n.phone(raw) == "+45 12 34 56 78"


def test_phone_rejects_foreign_and_short():
    for bad in ("1234567", "+46 12 34 56 78", "123456789", "tlf. ukendt"):
        with pytest.raises(ValueError):
            n.phone(bad)


def test_email():
    assert n.email(" Mette@Boligselskabet-Nord.DK ") == "Mette@boligselskabet-nord.dk"
    assert n.email("mailto:a.b@c.dk") == "a.b@c.dk"
    assert n.email("<a@b.dk>") == "a@b.dk"
    for bad in ("mette", "mette@", "a@b", "a b@c.dk", "a@@b.dk", "a..b@c.dk"):
        with pytest.raises(ValueError):
            n.email(bad)


@pytest.mark.parametrize("raw,name", [
    ("Aarhus Kommune", "Aarhus"), ("århus", "Aarhus"), ("AARHUS", "Aarhus"),
    ("Høje-Taastrup Kommune", "Høje-Taastrup"), ("Hoeje Taastrup", "Høje-Taastrup"),
    ("hoje-taastrup", "Høje-Taastrup"), ("Kobenhavn", "København"), ("Tarnby", "Tårnby"), ("Lyngby-Taarbaek", "Lyngby-Taarbæk"), ("Ærø", "Ærø"), ("Aeroe Kommune", "Ærø"),
    ("Åbenrå", "Aabenraa"), ("Københavns Kommune", "København"), ("Koebenhavn", "København"),
    ("Bornholms Regionskommune", "Bornholm"), ("Ringkøbing-Skjern", "Ringkøbing-Skjern"),
    ("Vesthimmerlands Kommune", "Vesthimmerlands"), ("Broenderslev", "Brønderslev"),
])
def test_municipality(raw, name):
    assert n.municipality(raw) == name


def test_every_official_name_maps_to_itself():
    for name in load_municipalities().names:
        assert n.municipality(name) == name
        assert n.municipality(f"{name.upper()} KOMMUNE") == name


def test_unknown_municipality_has_its_own_code():
    with pytest.raises(ValueError) as e:
        n.municipality("Gotham")
    assert e.value.code == "municipality_unknown"


def hire_type(text):
    """The hire type, read with the options of the field map's choice field."""
    return n.choice(text, load_fieldmap().field("hire_type").options)


def test_hire_type_and_text():
    assert hire_type("/Nyansaettelse") == "nyansaettelse"
    assert hire_type("Forstærkning") == "forstaerkning"
    with pytest.raises(ValueError):
        hire_type("begge")
    assert n.text("  linje 1\r\nlinje 2\rlinje 3  ") == "linje 1\nlinje 2\nlinje 3"


# --- properties -------------------------------------------------------------

money_values = st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2,
                           allow_nan=False, allow_infinity=False)


def _danish_writings(value: Decimal) -> list[str]:
    da = danish.number_da(value, 2)
    return [da, f"{da} kr.", f"kr. {da}", da.replace(".", " "), da.replace(".", ""),
            f"{da.replace('.', '')} kr", f"DKK {da}"]


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(money_values)
def test_money_round_trip(value):
    for written in _danish_writings(value):
        assert n.money_decimal(written) == value, written


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(st.integers(min_value=0, max_value=10**12))
def test_integer_round_trip(value):
    assert n.integer(danish.number_da(value, 0)) == value
    assert n.integer(str(value)) == value


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False))
def test_share_round_trip(percent):
    assert n.share(f"{danish.number_da(percent, 2)} %") == percent / 100


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2150, 12, 31)), st.integers(0, 6))
def test_date_round_trip(day, style):
    written = [
        f"{day.day}.{day.month}.{day.year}",
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        f"{day.day}/{day.month}-{day.year}",
        f"{day.day}. {MONTHS[day.month - 1]} {day.year}",
        f"{day.day}. {SHORT[day.month - 1]} {day.year}",
        day.isoformat(),
        f"{day.day:02d}.{day.month:02d}.{day.year}",
    ][style]
    assert danish.parse_date(written) == day, written


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(st.text(alphabet="0123456789", min_size=7, max_size=7).filter(lambda s: s[0] != "0"), st.booleans())
def test_cvr_round_trip(prefix, with_dk):
    number = cvr_with_check(prefix)
    if number is None:
        return
    written = " ".join(number[i:i + 2] for i in range(0, 8, 2))
    assert n.cvr(("DK " if with_dk else "") + written) == number


@settings(deadline=None)  # no timed assertions: a busy machine is not a bug
@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.sampled_from(["", "+45 ", "0045", "+45"]))
def test_phone_round_trip(digits, prefix):
    spaced = " ".join(digits[i:i + 2] for i in range(0, 8, 2))
    assert n.phone(prefix + spaced) == "+45 " + spaced
    assert n.phone(prefix + digits) == "+45 " + spaced


NORMALISERS = [n.cvr, n.date, danish.parse_number, n.money, n.decimal, n.integer, n.share, n.phone,
               n.email, n.municipality, hire_type, n.text]


@settings(max_examples=300, deadline=None)  # no timed assertions
@given(st.text(max_size=60))
def test_any_string_gives_a_value_or_a_value_error(raw):
    for fn in NORMALISERS:
        try:
            fn(raw)
        except ValueError:
            pass


@settings(max_examples=300, deadline=None)  # no timed assertions
@given(st.text(alphabet="0123456789.,- %krDK/æøå", max_size=30))
def test_number_like_strings_give_a_value_or_a_value_error(raw):
    for fn in NORMALISERS:
        try:
            fn(raw)
        except ValueError:
            pass
