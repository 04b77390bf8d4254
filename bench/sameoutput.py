"""Every staff list's output on a populated database, written to files, to diff two trees.

The lists read plain rows instead of ORM objects (store/caserows.py); what staff see
must not change. Run in each tree against the same database, then diff the folders:

    .venv/bin/python -m bench.sameoutput SETTINGS CASES OUTDIR   # cwd: the tree to run

It fills the database as bench/readpaths.py does (CASES cases), then, once, varies
it: cases without their own organisation or municipality (the form's count),
resubmissions (with formula-like texts), submissions none of which is current,
problems stored as null. It writes `cases list`, the JSON export, the committee
sheet (every cell's value, type, format and style, widths, panes, filter), the
digest and web case lists, and prints each one's seconds (wall, CPU).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path.cwd()
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from sqlalchemy import func, insert, select, update  # noqa: E402

from store.models import Attachment, Case, RawMessage, Submission  # noqa: E402

UTC = dt.UTC
NEW = 1_000_000  # ids of the resubmissions' rows


def vary(app: Any, cases: int) -> None:
    """Once: the shapes the bench's uniform cases lack."""
    when = dt.datetime(2025, 7, 21, 9, 0, tzinfo=UTC)
    towns = ["Aarhus", "Odense", "=Hack", "Høje-Taastrup", None]
    with app.context.factory() as s, s.begin():
        if s.scalar(select(func.count()).select_from(RawMessage).where(RawMessage.id > NEW)):
            return
        for i in range(1, cases + 1):
            if i % 3 == 0:
                s.execute(update(Case).where(Case.id == i).values(municipality=towns[(i // 3) % 5]))
            if i % 13 == 0:
                s.execute(update(Case).where(Case.id == i).values(org_name=None, municipality=None, cvr=None))
            if i % 19 == 0:
                s.execute(update(Submission).where(Submission.case_pk == i).values(current=False))
            if i % 23 == 0:
                s.execute(update(Submission).where(Submission.case_pk == i).values(problems=None))
        subs = {c: f for c, f in s.execute(select(Submission.case_pk, Submission.fields))}
        for i in range(17, cases + 1, 17):
            if i not in subs:
                continue
            mid, raw = NEW + i, f"Subject: ny {i}\r\n\r\nx\r\n".encode()
            s.execute(insert(RawMessage), [{
                "id": mid, "sha256": f"{mid:064d}", "size": len(raw), "raw": raw, "message_id": f"<n{i}@x.dk>",
                "internaldate": when, "stored_at": when, "state": "processed", "attempts": 0, "outcome": "case",
                "reason": "application", "subject": f"ny {i}", "sender": "x@y.dk", "processed_at": when,
                "case_pk": i}])
            fields = dict(subs[i])
            fields["org_name"] = {"value": '=HYPERLINK("http://x","klik")', "raw": "x", "source": "form"}
            fields["municipality"] = {"value": "+Frederiksberg", "raw": "x", "source": "form"}
            fields["amount_requested"] = {"value": "123456.5", "raw": "x", "source": "form"}
            s.execute(update(Submission).where(Submission.case_pk == i).values(current=(i % 34 == 0)))
            s.execute(insert(Submission), [{
                "id": mid, "case_pk": i, "message_pk": mid, "received_at": when, "status": "komplet",
                "current": i % 34 != 0, "fields": fields, "budget": {"total": "77.1", "lines": []},
                "problems": [{"code": "x", "field": "cvr", "message": "-Mangler CVR\tnu", "severity": "error"}],
                "created_at": when}])
            s.execute(insert(Attachment), [{"submission_pk": mid, "position": pos, "filename": name,
                                            "detected_type": "pdf", "size": 1, "sha256": "1" * 64, "role": None}
                                           for pos, name in ((1, "b.pdf"), (0, "a.pdf"))])


def sheet_text(data: bytes) -> str:
    """Everything of the committee sheet a reader sees, one line per cell."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    lines = [f"sheets {wb.sheetnames}"]
    for ws in wb.worksheets:
        lines.append(f"dims {ws.dimensions} freeze {ws.freeze_panes} filter {ws.auto_filter.ref}")
        lines += [f"width {k} {v.width}" for k, v in sorted(ws.column_dimensions.items())]
        for row in ws.iter_rows():
            lines += [f"{c.coordinate} {c.value!r} {c.data_type} {c.number_format} b={c.font.b} "
                      f"fill={c.fill.fgColor.rgb} wrap={c.alignment.wrap_text} v={c.alignment.vertical}"
                      for c in row]
    return "\n".join(lines)


def main(settings: str, cases: int, out: Path) -> dict[str, Any]:
    """Fill, vary, then write each list's output to ``out``; each one's seconds (wall, CPU)."""
    from starlette.testclient import TestClient

    from bench.readpaths import seed
    from intake.app import build_app
    from intake.commands import views
    from intake.committee import export
    from intake.settings import load_settings
    from intake.web.app import create_app
    from notifications import digest
    from store import accounts

    out.mkdir(parents=True, exist_ok=True)
    app = build_app(load_settings(Path(settings)))
    seed(app, cases)
    vary(app, cases)
    with app.context.factory() as s, s.begin():
        if not accounts.list_users(s):
            accounts.add_user(s, "bench", "bench-password-1", app.context.now())
    pool, tz = app.pool, app.pool.timezone
    now = dt.datetime(2025, 8, 5, 8, 0, tzinfo=UTC)
    times: dict[str, Any] = {}

    def run(name: str, fn: Callable[[Any], Any]) -> Any:
        with app.context.factory() as s:
            wall, cpu = time.perf_counter(), time.process_time()
            result = fn(s)
            times[name] = (round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3))
        return result

    def json_text(s: Any) -> str:
        buf = io.StringIO()
        return f"{export.write_json(s, tz, buf)}\n{buf.getvalue()}"

    def sheet(s: Any) -> tuple[int, bytes]:
        buf = io.BytesIO()
        return export.write_xlsx(s, buf), buf.getvalue()

    (out / "cases-list.txt").write_text(run("cases list", lambda s: views.cases_table(s, pool)))
    (out / "export.json").write_text(run("export json", json_text))
    rows, data = run("export xlsx", sheet)
    (out / "xlsx.txt").write_text(f"rows {rows}\n{sheet_text(data)}")
    d = run("digest", lambda s: digest.build(s, pool, now, "https://x"))
    (out / "digest.txt").write_text(f"{d.subject}\n{d.text}\n{d.html}")
    client = TestClient(create_app(app))
    token = client.get("/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"username": "bench", "password": "bench-password-1", "csrf": token, "next": "/"})
    for i, url in enumerate(("/sager", "/sager?problemer=ja", "/sager?q=aarhus", "/sager?status=bevilget&problemer=ja",
                             "/sager?slags=report&problemer=ja", "/sager?kommune=Odense", "/sager?q=zzz")):
        wall, cpu = time.perf_counter(), time.process_time()
        page = client.get(url)
        times[f"web {url}"] = (round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3))
        page.raise_for_status()
        (out / f"web{i}.html").write_text(re.sub(r'name="csrf" value="[^"]*"', "CSRF", page.text))
    return times


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))))
