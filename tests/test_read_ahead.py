"""Issue #15: a pool of reading children reads the next messages ahead while the one in hand is
recorded; what is recorded, and in which order, is the same as with one reader."""

from __future__ import annotations

import datetime as dt

import hostile
import pytest
from sqlalchemy import select

from intake.cases.pipeline import process_pending
from intake.documents.samples import SampleMail, make_mail, write_maildir
from intake.service import poll_once
from store.models import Case, RawMessage

T0 = dt.datetime(2025, 7, 20, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("readers", [1, 2, 3])
def test_reading_ahead_records_the_same_cases_in_the_same_order(readers, make_app, workdir):
    a, b = hostile.valid_cvrs(2)
    first_a, values_a = hostile.normal_application(0, a)
    first_b, values_b = hostile.normal_application(1, b)
    mails = [
        ("a", first_a),
        ("question", make_mail("Spørgsmål om puljen", sender="Lis <lis@bf.dk>", domain="bf.dk")),
        ("b", first_b),
        ("a-again", hostile.normal_application(0, a)[0]),  # the same organisation: a new version
        ("reply", make_mail("SV: [PSV-2025-0001] Kvittering", body="Tak!",
                            sender="Mette Hansen <mette@bolig0.dk>", domain="bolig0.dk")),
    ]
    write_maildir(workdir / "mail", [SampleMail(name, raw, T0 + dt.timedelta(minutes=i))
                                     for i, (name, raw) in enumerate(mails)])
    app = make_app(f"[processing]\nreaders = {readers}\n")
    assert poll_once(app).processed == {"case": 3, "triage": 1, "followup": 1}
    assert process_pending(app.context) == {}
    with app.context.factory() as s:
        outcomes = [(m.outcome, m.case.case_id if m.case else None, m.attempts)
                    for m in s.scalars(select(RawMessage).order_by(RawMessage.internaldate))]
        assert outcomes == [("case", "PSV-2025-0001", 1), ("triage", None, 1), ("case", "PSV-2025-0002", 1),
                            ("case", "PSV-2025-0001", 1), ("followup", "PSV-2025-0001", 1)]
        cases = {c.case_id: c for c in s.scalars(select(Case))}
        assert sorted(cases) == ["PSV-2025-0001", "PSV-2025-0002"]
        assert (cases["PSV-2025-0001"].cvr, cases["PSV-2025-0002"].cvr) == (values_a["cvr"], values_b["cvr"])
        assert len(cases["PSV-2025-0001"].submissions) == 2
        for case in cases.values():
            assert case.submissions[-1].budget["total"] == "1012497.75"
