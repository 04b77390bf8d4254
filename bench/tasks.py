"""What one benchmark measurement runs, each in a fresh child process (``python -m bench.tasks``).

A child per measurement gives every round a cold interpreter and its own peak
RSS (the parent reads it with ``os.wait4``). The child times only the work, not
its own start, and prints one JSON object: ``{"seconds": ..., ...}``.

    python -m bench.tasks fetch SETTINGS        fetch + store + acknowledge, no processing
    python -m bench.tasks poll SETTINGS         the whole ``poll``: fetch, process, outbox
    python -m bench.tasks floor MAILDIR         the parse floor: mail-parser, pypdf fields, openpyxl
    python -m bench.tasks mailparser MAILDIR    mail-parser alone on each mail (peak RSS reference)
    python -m bench.tasks idle                  nothing (the interpreter and imports: RSS floor)
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _app(settings: str) -> Any:
    from intake.app import build_app
    from intake.settings import load_settings

    return build_app(load_settings(Path(settings)))  # migrates the fresh database before the clock starts


def fetch(settings: str) -> dict[str, Any]:
    """Every source fetched into the database and acknowledged, nothing processed."""
    from intake.sources.fetching import fetch_all

    app = _app(settings)
    start = time.perf_counter()
    stored = 0
    for source in app.make_sources():
        try:
            stats = fetch_all(source, app.context.factory, app.context.now)
            stored += stats.stored
        finally:
            source.close()
    return {"seconds": time.perf_counter() - start, "stored": stored}


def poll(settings: str) -> dict[str, Any]:
    """``pulje-intake poll`` as cron runs it, minus the interpreter's start."""
    from intake.service import poll_once

    app = _app(settings)
    start = time.perf_counter()
    report = poll_once(app)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "stored": sum(st.stored for st in report.fetched.values()),
            "processed": dict(report.processed)}


def _mails(maildir: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((Path(maildir) / "new").iterdir())]


def floor(maildir: str) -> dict[str, Any]:
    """What any tool must do with the same mail: parse it (mail-parser), read the form's fields
    (pypdf) and load the budget (openpyxl), once each, no database."""
    import base64

    import mailparser
    from openpyxl import load_workbook
    from pypdf import PdfReader

    mails = _mails(maildir)
    start = time.perf_counter()
    forms = budgets = 0
    for raw in mails:
        mail = mailparser.parse_from_bytes(raw)
        for att in mail.attachments:
            name = (att.get("filename") or "").lower()
            if not (name.endswith(".pdf") or name.endswith(".xlsx")):
                continue
            data = base64.b64decode(att["payload"]) if att.get("binary") else att["payload"].encode()
            if name.endswith(".xlsx"):
                load_workbook(io.BytesIO(data))
                budgets += 1
            elif data.startswith(b"%PDF"):
                PdfReader(io.BytesIO(data)).get_fields()
                forms += 1
    return {"seconds": time.perf_counter() - start, "mails": len(mails), "forms": forms, "budgets": budgets}


def mailparser_only(maildir: str) -> dict[str, Any]:
    """mail-parser alone on every mail of the folder, each kept until the next is read."""
    import mailparser

    start = time.perf_counter()
    for raw in _mails(maildir):
        mail = mailparser.parse_from_bytes(raw)
        del mail
    return {"seconds": time.perf_counter() - start}


def idle() -> dict[str, Any]:
    """The interpreter with our modules imported, doing nothing."""
    import intake.service  # noqa: F401 - what a poll imports

    return {"seconds": 0.0}


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM) in MiB.

    Not ``getrusage``: on Linux a child's ``ru_maxrss`` starts at its parent's size at the
    fork, so every child of a large bench process would look as large as the bench.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


TASKS = {"fetch": fetch, "poll": poll, "floor": floor, "mailparser": mailparser_only, "idle": idle}

if __name__ == "__main__":
    result = TASKS[sys.argv[1]](*sys.argv[2:])
    print(json.dumps({**result, "rss_mib": peak_rss_mib()}))
