"""Routing by subject, table-driven: what real senders type, and what must go to a person."""

from __future__ import annotations

import pytest

from intake import routing
from intake.pool import load_pool
from parsers.mime import parse_mail
from store.words import Outcome

POOL = load_pool("sociale-viceværter-2025")

A, R, T, D = "application", "report", "triage", "documentation"

# (raw Subject header exactly as it arrives, expected kind or triage)
SUBJECTS = [
    ("Ansøgning – Pulje til sociale viceværter", A),
    ("Ansøgning - Pulje til sociale viceværter", A),
    ("Ansøgning — Pulje til sociale viceværter", A),
    ("Ansøgning ‒ Pulje til sociale viceværter", A),
    ("ANSØGNING – PULJE TIL SOCIALE VICEVÆRTER", A),
    ("ansøgning – pulje til sociale viceværter", A),
    ("Ansoegning - Pulje til sociale vicevaerter", A),
    ("Ansogning - Pulje til sociale vicevarter", A),
    ("Ansøgning Pulje til sociale viceværter", A),
    ("Ansøgning: Pulje til sociale viceværter", A),
    ("Ansøgning –  Pulje  til sociale   viceværter", A),
    ("SV: Ansøgning – Pulje til sociale viceværter", A),
    ("VS: Ansøgning – Pulje til sociale viceværter", A),
    ("Re: Ansøgning – Pulje til sociale viceværter", A),
    ("RE: SV: Ansøgning – Pulje til sociale viceværter", A),
    ("Fwd: Ansøgning – Pulje til sociale viceværter", A),
    ("Fw: Ansøgning – Pulje til sociale viceværter", A),
    ("FW: Ansøgning – Pulje til sociale viceværter", A),
    ("AW: Ansøgning – Pulje til sociale viceværter", A),
    ("Re[2]: Ansøgning – Pulje til sociale viceværter", A),
    ("[EKSTERN] Ansøgning – Pulje til sociale viceværter", A),
    ("Ansøgning – Pulje til sociale viceværter – Boligselskabet Nord", A),
    ("Ansøgning – Pulje til sociale viceværter (Boligforeningen Ærø, afd. 3)", A),
    ("Ansøgning til pulje til sociale viceværter", A),
    ("=?UTF-8?B?QW5zw7hnbmluZyDigJMgUHVsamUgdGlsIHNvY2lhbGUgdmljZXbDpnJ0ZXI=?=", A),
    ("=?UTF-8?Q?Ans=C3=B8gning_=E2=80=93_Pulje_til_sociale_vicev=C3=A6rter?=", A),
    ("=?ISO-8859-1?Q?Ans=F8gning_-_Pulje_til_sociale_vicev=E6rter?=", A),
    ("=?iso-8859-1?B?QW5z+GduaW5nIC0gUHVsamUgdGlsIHNvY2lhbGUgdmljZXbmcnRlcg==?=", A),
    ("SV: =?UTF-8?Q?Ans=C3=B8gning?= - Pulje til =?UTF-8?Q?sociale_vicev=C3=A6rter?=", A),
    ("Ansøgning – Pulje til\r\n sociale viceværter", A),
    ("=?UTF-8?Q?Ans=C3=B8gning_=E2=80=93_Pulje_til?=\r\n =?UTF-8?Q?_sociale_vicev=C3=A6rter?=", A),
    ("Afrapportering pulje til sociale viceværter", R),
    ("Afrapportering – Pulje til sociale viceværter", R),
    ("AFRAPPORTERING PULJE TIL SOCIALE VICEVAERTER", R),
    ("Fwd: Afrapportering pulje til sociale viceværter – Boligselskabet Vest", R),
    ("=?ISO-8859-1?Q?Afrapportering_pulje_til_sociale_vicev=E6rter?=", R),
    ("Spørgsmål om ansøgning", T),
    ("Spørgsmål om ansøgning til pulje til sociale viceværter", T),
    ("Vedr. frist for ansøgning", T),
    ("Ansøgning", T),
    ("Pulje til sociale viceværter", T),
    ("Ansøgning – Pulje til boligsociale indsatser", T),
    ("Ansøgningsfrist – Pulje til sociale viceværter?", T),
    ("Afrapportering", T),
    ("Kvartal 1 2026 – dokumentation for løn", D),
    # a grantee's quarterly documentation (the quarter itself is read later, parsers/quarters.py)
    ("Dokumentation", D),
    ("Udbetaling", D),
    ("Q1 2026", D),
    ("Dokumentation for 2. kvartal", D),
    ("SV: Dokumentation Q2 2026 – Boligselskabet Nord", D),
    ("VS: dokumentation kvartal 3 2026", D),
    ("Lønsedler marts 2026", D),
    ("2. kvartal 2026", D),
    ("Spørgsmål om udbetaling", T),
    ("Invitation: møde om sociale viceværter", T),
    ("", T),
]


def _mail(subject: str, **headers: str):
    lines = [
        "From: Mette Hansen <mette@boligselskabet-nord.dk>",
        "To: pulje@bl.dk",
        f"Subject: {subject}",
        "Message-ID: <abc@boligselskabet-nord.dk>",
        "Date: Tue, 1 Jul 2025 10:00:00 +0200",
        *[f"{k}: {v}" for k, v in headers.items()],
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Hej",
        "",
    ]
    return parse_mail("\r\n".join(lines).encode("utf-8"))


def test_table_is_big_enough():
    assert len(SUBJECTS) >= 40


@pytest.mark.parametrize(("subject", "expected"), SUBJECTS)
def test_subject_routes_to_kind(subject, expected):
    r = routing.route(_mail(subject), POOL)
    if expected == T:
        assert r.outcome == Outcome.TRIAGE, r
        assert r.reason
    else:
        assert (r.outcome, r.kind) == (Outcome.CASE, expected), r


def test_our_own_mail_coming_back_is_recognised_by_its_x_loop():
    own = frozenset({"pulje@bl.dk"})
    r = routing.route(_mail("Kvittering: Ansøgning – Pulje til sociale viceværter", **{"X-Loop": "pulje@bl.dk"}),
                      POOL, own_addresses=own)
    assert r.outcome == Outcome.IGNORED and "X-Loop" in r.reason
    # another system's loop header is no reason to ignore an application
    r = routing.route(_mail("Ansøgning – Pulje til sociale viceværter", **{"X-Loop": "ticket@example.org"}),
                      POOL, own_addresses=own)
    assert (r.outcome, r.kind) == (Outcome.CASE, A)


@pytest.mark.parametrize(("subject", "base"), [
    ("SV: [PSV-2025-0002] Kvittering: SV: [PSV-2025-0002] Kvittering: SV: Ansøgning – Boligforeningen Syd",
     "Ansøgning – Boligforeningen Syd"),
    ("Re: AW: [PSV-2025-0002] Påmindelse: jeres ansøgning mangler stadig noget",
     "jeres ansøgning mangler stadig noget"),
    ("Dokumentation Q1 2026 [PSV-2025-0001]", "Dokumentation Q1 2026"),
    ("SV: [Ekstern] Ansøgning – Pulje til sociale viceværter", "Ansøgning – Pulje til sociale viceværter"),
    ("Kvittering for betaling: faktura 12", "Kvittering for betaling: faktura 12"),
])
def test_a_reply_loses_our_tags_prefixes_and_subject_words(subject, base):
    assert routing.reply_base(subject, "PSV", ("Kvittering", "Påmindelse")) == base


@pytest.mark.parametrize(
    ("headers", "subject", "reason_word"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Automatisk svar: Ansøgning – Pulje til sociale viceværter", "auto-reply"),
        ({"X-Autoreply": "yes"}, "Ansøgning – Pulje til sociale viceværter", "auto-reply"),
        ({"Precedence": "bulk"}, "Ansøgning – Pulje til sociale viceværter", "bulk"),
        ({"List-Id": "<boligsocialt.lists.example.org>"}, "Ansøgning – Pulje til sociale viceværter", "list"),
        ({"Return-Path": "<>"}, "Ansøgning – Pulje til sociale viceværter", "bounce"),
        ({}, "Automatic reply: Ansøgning – Pulje til sociale viceværter", "auto-reply"),
        ({}, "Fraværende: Ansøgning – Pulje til sociale viceværter", "auto-reply"),
        ({}, "Undeliverable: [PSV-2025-0001] Kvittering", "delivery"),
    ],
)
def test_automatic_mail_is_ignored_with_a_reason(headers, subject, reason_word):
    r = routing.route(_mail(subject, **headers), POOL)
    assert r.outcome == Outcome.IGNORED
    assert reason_word in r.reason


def test_auto_submitted_no_is_a_person():
    r = routing.route(_mail("Ansøgning – Pulje til sociale viceværter", **{"Auto-Submitted": "no"}), POOL)
    assert r.outcome == Outcome.CASE


def test_mail_from_our_own_address_is_ignored():
    raw = b"From: pulje@bl.dk\r\nTo: pulje@bl.dk\r\nSubject: Ans\xc3\xb8gning - Pulje til sociale vicev\xc3\xa6rter\r\n\r\nx\r\n"
    r = routing.route(parse_mail(raw), POOL, own_addresses=frozenset({"pulje@bl.dk"}))
    assert r.outcome == Outcome.IGNORED and "own address" in r.reason


def test_case_tag_of_a_known_case_joins_it():
    mail = _mail("SV: [PSV-2025-0007] Kvittering for ansøgning")
    r = routing.route(mail, POOL, known={"PSV-2025-0007": "PSV-2025-0007"})
    assert (r.outcome, r.case_id) == (Outcome.FOLLOWUP, "PSV-2025-0007")


def test_unknown_case_tag_goes_to_triage():
    r = routing.route(_mail("SV: [PSV-2025-0999] Kvittering"), POOL, known={})
    assert r.outcome == Outcome.TRIAGE and "PSV-2025-0999" in r.reason


def test_reply_to_our_message_id_joins_the_case():
    mail = _mail("Re: et spørgsmål", **{"In-Reply-To": "<receipt-1@bl.dk>"})
    r = routing.route(mail, POOL, known={"<receipt-1@bl.dk>": "PSV-2025-0003"})
    assert (r.outcome, r.case_id) == (Outcome.FOLLOWUP, "PSV-2025-0003")


def test_raw_8bit_subject_is_read_as_utf8_or_latin1():
    for encoding in ("utf-8", "latin-1"):
        raw = ("From: a@b.dk\r\nSubject: Ansøgning - Pulje til sociale viceværter\r\n\r\nx\r\n").encode(encoding)
        assert routing.route(parse_mail(raw), POOL).kind == A


def test_kinds_come_from_the_pool_file():
    assert [k.kind for k in POOL.kinds] == ["application", "report", "documentation"]
