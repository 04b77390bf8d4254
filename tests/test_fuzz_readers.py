"""Issue #9: a bounded property-based fuzz of the MIME, form and budget readers. Whatever bytes
arrive, a reader returns its documented result (never raises), and what it returns keeps its
promises: a plain sender address or none, a short subject, values only with their raw text,
amounts as two-decimal strings. A fixed number of derandomised examples, so CI is repeatable."""

from __future__ import annotations

import re
from decimal import Decimal

import hostile
from docbuilders import budget_xlsx, fill_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.documents.samples import make_mail, minimal_pdf
from parsers.budget import read_budget
from parsers.fieldmap import load_fieldmap
from parsers.form import read_application_form
from parsers.mime import parse_mail

FM = load_fieldmap()
BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PLAIN = re.compile(r"[^@\s<>()\x00-\x1f]+@[^@\s<>()\x00-\x1f]+\.[^@\s<>()\x00-\x1f]+")
MAIL = make_mail("Ansøgning – Pulje til sociale viceværter",
                 attachments=[("Ansøgningsskema.pdf", minimal_pdf(), "application/pdf")])
FORM = fill_form()
BUDGET = budget_xlsx()


@st.composite
def mutated(draw, seed: bytes, max_edits: int = 8):
    """``seed`` with bytes flipped, inserted, deleted, repeated or cut off."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, max_edits))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "cut"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            piece = bytes(data[at:at + draw(st.integers(1, 32))])
            data[at:at] = piece * draw(st.integers(1, 200))
        else:
            del data[at:]
    return bytes(data)


HEADER_TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["=?utf-8?q?a=0D=0ABcc:_x=40y.dk?=", "=?iso-8859-1?Q?S=F8rensen=2C_Mette?= <m@k.dk>",
                     "a@b.dk, c@d.dk", "undisclosed-recipients:;", "\"x\\\"y\" <a@b.dk>", "<>", "(((", "=?"]),
)


@st.composite
def hostile_headers(draw):
    """A small mail whose From, Subject and a few more headers are drawn."""
    lines = [f"{name}: {draw(HEADER_TEXT)}" for name in draw(
        st.lists(st.sampled_from(["From", "Subject", "To", "Content-Type", "References", "Message-ID",
                                  "Authentication-Results", "MIME-Version"]), max_size=8))]
    body = draw(st.sampled_from(["x", "--b\r\nContent-Type: text/plain\r\n\r\nhej\r\n--b--\r\n", ""]))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogatepass")


@BOUNDED
@given(st.one_of(mutated(MAIL), hostile_headers(), st.binary(max_size=2000)))
def test_the_mime_reader_never_raises_and_keeps_its_promises(raw):
    mail = parse_mail(raw)
    assert mail.from_addr is None or PLAIN.fullmatch(mail.from_addr)
    assert (mail.from_addr is None) == (mail.sender_problem is not None)  # no address: we say why
    assert len(mail.subject) <= 1000 and "\r" not in mail.subject and "\n" not in mail.subject
    assert all(re.fullmatch(r"<[!-;=?-~]+>", m) for m in [*mail.references, *mail.in_reply_to])
    assert all(isinstance(a.data, bytes) for a in mail.attachments)


@BOUNDED
@given(mutated(FORM, max_edits=4))
def test_the_form_reader_never_raises_and_never_invents_a_value(data):
    reading = read_application_form(data, FM, max_pages=50)
    assert reading.method in ("fields", "text", None)
    for key, entry in reading.values.items():
        assert key in {f.key for f in FM.fields}
        assert str(entry["raw"]).strip(), key  # a value only where something was written
    assert all(p["code"] for p in reading.problems)


CELL = st.one_of(
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["=1/0", "#REF!", "1.649", "334,00 kr.", "", "NaN", "1e400", "=HYPERLINK(\"x\")"]),
    st.text(max_size=20))


@st.composite
def sheets(draw):
    """A workbook whose one sheet holds drawn cells (numbers, text, formulas) in drawn places."""
    cells = []
    for _ in range(draw(st.integers(0, 40))):
        ref = f"{draw(st.sampled_from('ABCDEZ'))}{draw(st.integers(1, 12))}"
        value = draw(CELL).replace("&", "&amp;").replace("<", "&lt;")
        if draw(st.booleans()):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1">' + "".join(cells) + "</row></sheetData></worksheet>")
    return hostile._workbook((sheet.encode("utf-8", "surrogatepass"), b"", 0, b""), None)


def _money(value: object) -> bool:
    return value is None or (isinstance(value, str) and Decimal(value).as_tuple().exponent == -2)


@BOUNDED
@given(st.one_of(mutated(BUDGET, max_edits=4), sheets()))
def test_the_budget_reader_never_raises_and_gives_amounts_as_two_decimal_strings(data):
    reading = read_budget(data, "xlsx", FM, max_cells=200_000)
    assert _money(reading.total)
    for line in reading.lines:
        assert _money(line["amount"]) and _money(line["rate"])
