"""The staff lists' plain rows (store.caserows) say what the cases' objects say.

The digest, the exports and the web's case list read rows instead of ORM objects
(bench/RESULTS.md); every value they show must be the one the objects give: the
same current submission, the same form, problems, budget and files.
"""

from __future__ import annotations

import casefactory as cf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import subqueryload

from store import casedata as cd
from store import caserows
from store.models import Attachment, Case, Submission


def _seed(app) -> None:
    with app.context.factory() as s, s.begin():
        cf.make_case(s, "PSV-2025-0001", problems=[cf.problem("missing_field", "cvr", "Mangler CVR.")])
        # resubmitted: the newer submission counts, with its own form, problems and files
        case = cf.make_case(s, "PSV-2025-0002", set_case_columns=False)
        first = case.submissions[0]
        first.current = False
        msg = cf.raw_message(s, received=first.received_at, case=case)
        newer = Submission(case=case, message_pk=msg.id, received_at=first.received_at, status="komplet",
                           current=True, fields=cf.application_fields(org="=Ny forening", municipality="Odense"),
                           budget={"total": "12.50", "lines": []}, problems=[], created_at=first.received_at)
        s.add(newer)
        for pos, name in ((1, "b.pdf"), (0, "a.pdf")):
            s.add(Attachment(submission=newer, position=pos, filename=name, detected_type="pdf", size=1,
                             sha256=str(pos) * 64, role=None))
        # none current: the newest counts
        old = cf.make_case(s, "PSV-2025-0003", problems=[cf.problem("late", None, "For sent.")])
        old.submissions[0].current = False
        cf.make_case(s, "PSV-R-0001", kind="report", status="mangler", fields={}, budget_={})
        s.flush()
        s.add(Case(case_id="PSV-2025-0004", pool="sociale-viceværter-2025", kind="application", status="modtaget",
                   received_at=first.received_at, created_at=first.received_at, updated_at=first.received_at))


def test_rows_have_the_objects_current_submission_and_values(app):
    _seed(app)
    with app.context.factory() as s:
        objects = list(s.scalars(select(Case).options(subqueryload(Case.submissions)
                                                       .subqueryload(Submission.attachments)).order_by(Case.id)))
        rows = caserows.case_rows(s, files=True)
        assert [r.case_id for r in rows] == [c.case_id for c in objects]
        for obj, row in zip(objects, rows, strict=True):
            sub = cd.current_submission(obj)
            assert [x.id for x in row.submissions] == ([sub.id] if sub else [])
            for helper in (cd.org_name, cd.cvr, cd.municipality, cd.problems, cd.budget):
                assert helper(row) == helper(obj), (obj.case_id, helper.__name__)
            assert cd.field_value(row, "amount_requested") == cd.field_value(obj, "amount_requested")
            assert [(a.filename, a.sha256, a.detected_type) for a in (row.submissions[0].attachments if sub else [])] \
                == [(a.filename, a.sha256, a.detected_type) for a in (sub.attachments if sub else [])]
            assert (row.status, row.received_at, row.sender) == (obj.status, obj.received_at, obj.sender)
        assert cd.org_name(rows[1]) == "=Ny forening"  # the resubmission's, not the first form's


def test_a_row_read_without_its_form_refuses_to_give_one(app):
    _seed(app)
    with app.context.factory() as s:
        rows = {r.case_id: r for r in caserows.case_rows(s, json_columns=("problems",),
                                                          fields_when=caserows.form_needed())}
        assert cd.org_name(rows["PSV-2025-0002"]) == "=Ny forening"  # no organisation of its own: form read
        assert cd.municipality(rows["PSV-2025-0002"]) == "Odense"
        assert cd.org_name(rows["PSV-2025-0001"]) == "Boligselskabet Nord"  # the case's own column
        with pytest.raises(KeyError):
            cd.field_value(rows["PSV-2025-0001"], "fte")  # not read: never an empty form instead
