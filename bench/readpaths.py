"""Staff's lists at many cases: `cases list`, the exports, the digest and the web pages.

Run in a child (``python -m bench.readpaths SETTINGS CASES``): fills the
database with CASES cases by bulk insert the first time (applications, a tenth
of them granted with a letter and a quarter's documentation, a report per
twentieth, mail in triage), then times each read path once, as its command
would run it (a fresh session), counts its SQL statements, and prints JSON.
The reference is one SELECT of the case table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from sqlalchemy import event, func, insert, select  # noqa: E402

from store.grant_models import DecisionLetter, GrantQuarter  # noqa: E402
from store.models import (  # noqa: E402
    Attachment,
    Case,
    CaseEvent,
    OutboxMessage,
    RawMessage,
    Submission,
)

UTC = dt.UTC


def seed(app: Any, cases: int) -> None:
    """Bulk-insert cases in the shapes of docs/contracts.md until there are ``cases``."""
    import casefactory as cf

    with app.context.factory() as s, s.begin():
        have = s.scalar(select(func.count()).select_from(Case)) or 0
        if have >= cases:
            return
        when = dt.datetime(2025, 7, 20, 10, 0, tzinfo=UTC)
        fields, budget = cf.application_fields(), cf.budget()
        warn = [cf.problem("form_printed_checkbox", "hire_type", "Et afkrydset felt er læst fra en print.", "warning")]
        raws, case_rows, subs, atts, events, letters, outbox, quarters = [], [], [], [], [], [], [], []
        for i in range(have + 1, cases + 1):
            raw = f"Message-ID: <b{i}@x.dk>\r\nSubject: Ansøgning {i}\r\n\r\nbody\r\n".encode()
            raws.append({"id": i, "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "raw": raw,
                         "message_id": f"<b{i}@x.dk>", "internaldate": when, "stored_at": when, "state": "processed",
                         "attempts": 0, "outcome": "case" if i % 50 else "triage", "reason": "application",
                         "subject": f"Ansøgning {i}", "sender": f"m{i}@org{i}.dk", "processed_at": when,
                         "case_pk": i if i % 50 else None})
            granted = i % 10 == 0
            kind = "report" if i % 20 == 5 else "documentation" if i % 10 == 1 and i > 10 else "application"
            status = "bevilget" if granted else "komplet"
            case_rows.append({"id": i, "case_id": f"PSV-2025-{i:05d}", "pool": "sociale-viceværter-2025",
                              "kind": kind, "status": status, "sender": f"m{i}@org{i}.dk", "sender_name": "Mette",
                              "subject": f"Ansøgning {i}", "received_at": when, "created_at": when,
                              "updated_at": when, "org_name": f"Boligselskab {i}", "cvr": "12345674",
                              "municipality": "Aarhus", "decision": "bevilget" if granted else None,
                              "granted_amount": "500000.00" if granted else None, "decision_version": int(granted),
                              "parent_pk": i - 1 if kind == "documentation" else None})
            if i % 50:
                subs.append({"id": i, "case_pk": i, "message_pk": i, "received_at": when, "status": status,
                             "current": True, "fields": fields, "budget": budget,
                             "problems": warn if i % 7 == 0 else [], "created_at": when})
                for pos, (name, kind_) in enumerate((("Ansøgningsskema.pdf", "pdf"), ("Budget.xlsx", "xlsx"))):
                    atts.append({"submission_pk": i, "position": pos, "filename": name, "detected_type": kind_,
                                 "size": 1000, "sha256": "0" * 64, "role": "form" if pos == 0 else "budget"})
            events.append({"case_pk": i, "at": when, "kind": "created", "detail": "bench"})
            if granted:
                outbox.append({"id": i, "dedupe_key": f"letter:{i}", "purpose": "decision-letter", "case_pk": i,
                               "recipient": f"m{i}@org{i}.dk", "message_id": f"<l{i}@bl.dk>", "subject": "Bevilling",
                               "raw": b"x", "state": "sent", "attempts": 1, "created_at": when})
                letters.append({"case_pk": i, "version": 1, "kind": "bevilling", "decision": "bevilget",
                                "amount": "500000.00", "outbox_pk": i, "recipient": f"m{i}@org{i}.dk",
                                "created_at": when})
                if i + 1 <= cases:
                    quarters.append({"case_pk": i, "quarter": "2026Q1", "state": "modtaget",
                                     "documentation_pk": i + 1, "inferred": False, "received_at": when,
                                     "updated_at": when})
        # in this order for the foreign keys (a documentation case follows its grant)
        for model, rows in ((Case, case_rows), (RawMessage, raws),
                            (Submission, subs), (Attachment, atts), (CaseEvent, events), (OutboxMessage, outbox),
                            (DecisionLetter, letters), (GrantQuarter, quarters)):
            for start in range(0, len(rows), 2000):
                s.execute(insert(model), rows[start:start + 2000])


def measure(settings: str, cases: str) -> dict[str, Any]:
    """Seed (first time), then time and count each read path once."""
    from starlette.testclient import TestClient

    from intake.app import build_app
    from intake.commands import views
    from intake.committee import export
    from intake.settings import load_settings
    from intake.web.app import create_app
    from notifications import digest
    from store import accounts

    app = build_app(load_settings(Path(settings)))
    seed(app, int(cases))
    with app.context.factory() as s, s.begin():
        if not accounts.list_users(s):
            accounts.add_user(s, "bench", "bench-password-1", app.context.now())
    seen: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    tz, pool = app.pool.timezone, app.pool
    now = dt.datetime(2025, 8, 5, 8, 0, tzinfo=UTC)

    def session_run(func: Any) -> Any:
        with app.context.factory() as s:
            return func(s)

    paths: dict[str, Any] = {
        "one SELECT (reference)": lambda: session_run(lambda s: s.execute(select(Case.__table__)).all()),
        "cases list": lambda: session_run(lambda s: views.cases_table(s, pool)),
        "cases list --triage": lambda: session_run(lambda s: views.messages_table(s, pool)),
        "export json": lambda: session_run(lambda s: export.write_json(s, tz, io.StringIO())),
        "export xlsx": lambda: session_run(lambda s: export.write_xlsx(s, io.BytesIO())),
        "digest": lambda: session_run(lambda s: digest.build(s, pool, now, "https://x")),
    }
    client = TestClient(create_app(app))
    page = client.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"username": "bench", "password": "bench-password-1", "csrf": token, "next": "/"})
    n = int(cases)
    grant, triage = min(10, n), 50 if n >= 50 else 1  # a grant with its letter; a mail in triage
    for url in ("/", "/sager", "/sager?problemer=ja", f"/sager/PSV-2025-{grant:05d}", f"/post/{triage}"):
        paths[f"web {url}"] = (lambda u: lambda: client.get(u).raise_for_status())(url)
    out: dict[str, Any] = {}
    for name, run in paths.items():
        seen.clear()
        start = time.perf_counter()
        run()
        out[name] = {"seconds": time.perf_counter() - start, "statements": len(seen)}
    return out


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:])))  # no peak RSS: it is not a row of the issue
