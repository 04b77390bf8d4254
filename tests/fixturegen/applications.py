"""Application mails made from the project's own templates, each with the result it must give.

Every scenario is one organisation (its own CVR number and mail domain) so the
whole set can run through one database without resubmissions crossing. The
expected values are written here by hand (the oracle), never computed by the
readers under test.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo

import docbuilders as db

from intake.documents.samples import make_mail

CPH = ZoneInfo("Europe/Copenhagen")
SUBJECT = "Ansøgning – Pulje til sociale viceværter"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Form key -> (as the applicant types it, the normalised value intake must give).
BASE: dict[str, tuple[str, object]] = {
    "org_name": ("Boligselskabet Ærøhøj", "Boligselskabet Ærøhøj"),
    "address": ("Søndergade 12, 8000 Aarhus C", "Søndergade 12, 8000 Aarhus C"),
    "contact_name": ("Mette Højgaard Sørensen", "Mette Højgaard Sørensen"),
    "contact_phone": ("+45 12 34 56 78", "+45 12 34 56 78"),
    "departments": ("Afd. 7 Skovgården og afd. 9 Åbyhøj", "Afd. 7 Skovgården og afd. 9 Åbyhøj"),
    "municipality": ("Aarhus Kommune", "Aarhus"),
    "partners": ("Aarhus Kommune, Socialforvaltningen; Boligforeningen Østbo",
                 "Aarhus Kommune, Socialforvaltningen; Boligforeningen Østbo"),
    "fte": ("1", "1"),
    "hire_type": ("Nyansaettelse", "nyansaettelse"),
    "start_date": ("1. januar 2026", "2026-01-01"),
    "referrals": ("42", 42),
    "evictions": ("7", 7),
    "rent_level": ("950,50", "950.50"),
    "collaboration": ("Vi samarbejder tæt med kommunens bostøtte og hjemløseenhed.",
                      "Vi samarbejder tæt med kommunens bostøtte og hjemløseenhed."),
    "organisation": ("Den sociale vicevært ansættes i boligorganisationen og refererer til driftschefen.",
                     "Den sociale vicevært ansættes i boligorganisationen og refererer til driftschefen."),
    "target_group": ("Beboere med hjemløshedsbaggrund, der er anvist af kommunen.",
                     "Beboere med hjemløshedsbaggrund, der er anvist af kommunen."),
    "amount_requested": ("1.012.497,75", "1012497.75"),
    "signatory": ("Jørgen Ålund", "Jørgen Ålund"),
    "signed_date": ("28-07-2025", "2025-07-28"),
}
# Values a person reads off a print: radio ticks are graphics (DESIGN.md).
CHOICE_KEYS = ("hire_type",)


def one_fte_budget() -> dict[str, dict[str, Decimal]]:
    """The budget template filled for one full-time caretaker (the funded maximum)."""
    return {
        "salary_2026": {"hours": Decimal("1649"), "rate": Decimal("334"), "share": Decimal("1.00")},
        "salary_2027": {"hours": Decimal("1649"), "rate": Decimal("341"), "share": Decimal("0.75")},
        "activity_2026": {"amount": Decimal("20000")},
        "activity_2027": {"amount": Decimal("20000")},
    }


def full_budget(values: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
    """``values`` with every amount and the total filled in, as a spreadsheet program saves them."""
    out = {k: dict(v) for k, v in values.items()}
    total = Decimal(0)
    for v in out.values():
        if "hours" in v and "amount" not in v:
            v["amount"] = (v["hours"] * v["rate"] * v["share"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        total += v.get("amount", Decimal(0))
    out.setdefault("total", {"amount": total})
    return out


def expected_budget(values: dict[str, dict[str, Decimal]]) -> dict:
    """Lines and total the reader must give for budget ``values`` (amounts computed when absent)."""
    lines, total = [], Decimal(0)
    for key in ("salary_2026", "salary_2027", "activity_2026", "activity_2027"):
        v = values.get(key, {})
        if key.startswith("salary"):
            amount = v.get("amount", (v["hours"] * v["rate"] * v["share"]).quantize(
                Decimal("0.01"), ROUND_HALF_UP))  # the template's ROUND(…; 2)
            lines.append({"key": key, "hours": str(v["hours"]), "rate": str(v["rate"]),
                          "share": str(v["share"]), "amount": str(amount)})
        else:
            amount = v["amount"]
            lines.append({"key": key, "hours": None, "rate": None, "share": None,
                          "amount": str(amount)})
        total += Decimal(str(amount))
    given = values.get("total", {}).get("amount")
    return {"lines": lines, "total": str(given if given is not None else total)}


def cvr_for(n: int) -> str:
    """A valid CVR number unique to scenario ``n`` (modulus 11)."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    base = 31000000 // 10 + n * 7
    while True:
        digits = f"{base:07d}"
        check = (-sum(int(d) * w for d, w in zip(digits, weights, strict=True))) % 11
        if check < 10:
            return digits + str(check)
        base += 1


@dataclass
class Mail:
    """One message of a scenario and when the server received it."""

    raw: bytes
    received: dt.datetime
    message_id: str = ""


@dataclass
class Scenario:
    """Mails from one organisation and what intake must make of them."""

    name: str
    kind: str
    sender: str
    mails: list[Mail]
    expected: dict
    granted: bool = False  # reports: grant this application before the reports arrive
    parent: str | None = None  # reports: the application scenario they belong to
    stage: int = 0  # 0: applications, 1: reports (after the grants)


@dataclass
class App:
    """Builder of one application scenario."""

    n: int
    name: str
    typed: dict[str, str] = field(default_factory=dict)
    want: dict[str, object] = field(default_factory=dict)

    def __post_init__(self):
        self.slug = self.name.replace("_", "-")
        self.domain = f"{self.slug}.dk"
        self.sender = f"mette@{self.domain}"
        cvr = cvr_for(self.n)
        self.typed = {k: t for k, (t, _) in BASE.items()}
        self.want = {k: w for k, (_, w) in BASE.items()}
        self.typed.update(cvr=cvr, contact_email=self.sender)
        self.want.update(cvr=cvr, contact_email=self.sender)

    def set(self, key: str, typed: str | None, want: object = None) -> App:
        """Type ``typed`` into a field (None: leave it empty) and expect ``want`` (None: absent)."""
        if typed is None:
            self.typed.pop(key, None)
        else:
            self.typed[key] = typed
        if want is None:
            self.want.pop(key, None)
        else:
            self.want[key] = want
        return self


def message_id(raw: bytes) -> str:
    """The Message-ID a built mail carries."""
    from email.parser import BytesHeaderParser

    return str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip()


def mail(app: App, attachments: list[tuple[str, bytes, str]], received: dt.datetime,
         subject: str = SUBJECT, headers: dict | None = None) -> Mail:
    """The application mail from ``app``'s organisation."""
    raw = make_mail(subject, sender=f"Mette Højgaard Sørensen <{app.sender}>",
                    body="Hermed vores ansøgning med skema og budget.\n\nVenlig hilsen\nMette",
                    attachments=attachments, date=received, headers=headers, domain=app.domain)
    return Mail(raw, received, message_id(raw))


def on(day: int, hour: int = 10, minute: int = 0, month: int = 7) -> dt.datetime:
    """A local arrival time in summer 2025."""
    return dt.datetime(2025, month, day, hour, minute, tzinfo=CPH)


def form_att(data: bytes, name: str = "Ansøgningsskema.pdf") -> tuple[str, bytes, str]:
    return (name, data, "application/pdf")


def budget_att(data: bytes, name: str = "Budget.xlsx", mime: str = XLSX) -> tuple[str, bytes, str]:
    return (name, data, mime)


def docx_bytes() -> bytes:
    """A minimal Word document (the zip structure is what identifies it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Ansøgning</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def odt_bytes() -> bytes:
    """A minimal OpenDocument text file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    """The start of a JPEG photo of a printed form."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 800  # ~200 KB, as a photo is


@cache
def _template() -> bytes:
    return db.template_pdf()


def fill_form(values: dict[str, str]) -> bytes:
    """The official form filled in (the empty template is built once)."""
    return db.fill_form(values, template=_template())


_budgets: dict[str, bytes] = {}


def budget_xlsx(values: dict, **kwargs) -> bytes:
    """``docbuilders.budget_xlsx``, built once per distinct input (most scenarios share one)."""
    key = repr((sorted((k, sorted(v.items())) for k, v in values.items()), sorted(kwargs.items())))
    if key not in _budgets:
        _budgets[key] = db.budget_xlsx(values, **kwargs)
    return _budgets[key]


def poke_budget(data: bytes, name: str, value) -> bytes:
    """The budget with the cell behind a defined name overwritten (text, or None to empty it)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    (sheet, ref), = wb.defined_names[name].destinations
    wb[sheet][ref.replace("$", "")].value = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def foreign_workbook() -> bytes:
    """A spreadsheet that is not our budget template (someone's own layout)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Ark1"
    ws.append(["Post", "Beløb"])
    ws.append(["Medarbejder", 600000])
    ws.append(["Diverse", 50000])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def big_pdf(size: int) -> bytes:
    """A PDF-looking file of ``size`` bytes (a high-resolution scan, say)."""
    import random

    return b"%PDF-1.4\n" + random.Random(size).randbytes(size)


def expect(app: App, *, problems: list[str], status: str, budget: dict | None,
           fields: dict | None = None, submissions: int = 1) -> dict:
    """The expected.json of an application scenario."""
    return {
        "kind": "application",
        "status": status,
        "fields": dict(app.want) if fields is None else fields,
        "budget": budget or {},
        "problems": sorted(problems),
        "submissions": submissions,
    }
