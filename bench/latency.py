"""APPEND → receipt delivered, against the bare IDLE wake: how long an applicant waits.

The floor: one imapclient connection in IDLE on INBOX, another APPENDs; the time
from the APPEND until the IDLE connection hears ``EXISTS``. Ours: ``pulje-intake
run`` (a child process, the settings' defaults but for the source and the SMTP
server) with IDLE on the same kind of server; the time from the APPEND until the
receipt reaches the SMTP sink. Mails are appended one by one, ``interval``
seconds apart, each from its own sender, so each receipt is matched to its mail
by its recipient.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from dovecot import Dovecot, to_crlf
from smtp_sink import SmtpSink

from intake.documents.samples import ONE_CARETAKER_BUDGET, application_values, make_mail

SUBJECT = "Ansøgning – Pulje til sociale viceværter"


def applications(n: int, tag: str) -> list[tuple[str, bytes]]:
    """``n`` applications dated now, each from its own address: (address, bytes)."""
    from intake.documents.filling import fill_budget_xlsx, fill_form_pdf

    budget = fill_budget_xlsx(ONE_CARETAKER_BUDGET)
    out = []
    for i in range(n):
        address = f"kontakt{i}@{tag}{i}.dk"
        form = fill_form_pdf(application_values(f"Boligselskab {tag} {i}", "34567891", "Mette", address, "Aarhus"))
        raw = make_mail(SUBJECT, sender=f"Mette <{address}>", domain=f"{tag}{i}.dk", date=dt.datetime.now(dt.UTC),
                        attachments=[("Ansøgningsskema.pdf", form, "application/pdf"),
                                     ("Budget.xlsx", budget,
                                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
        out.append((address, to_crlf(raw)))
    return out


def empty_inbox(server: Dovecot) -> None:
    """Expunge everything in INBOX (the next round starts from nothing)."""
    with server.client() as c:
        c.select_folder("INBOX")
        uids = c.search(["ALL"])
        if uids:
            c.delete_messages(uids)
            c.expunge()


def idle_floor(server: Dovecot, mails: list[tuple[str, bytes]], interval: float) -> list[float]:
    """Seconds from each APPEND until an IDLE connection hears of it."""
    out = []
    with server.client() as watcher, server.client() as appender:
        watcher.select_folder("INBOX")
        watcher.idle()
        try:
            for _, raw in mails:
                start = time.perf_counter()
                appender.append("INBOX", raw)
                deadline = start + 30
                while time.perf_counter() < deadline:
                    if any(len(r) > 1 and r[1] == b"EXISTS" for r in watcher.idle_check(timeout=1)):
                        break
                out.append(time.perf_counter() - start)
                time.sleep(interval)
        finally:
            watcher.idle_done()
    return out


def _watch(sink: SmtpSink, arrived: dict[str, float], stop: threading.Event) -> None:
    """Note when each recipient's first mail reached the sink (a 2 ms look, in a thread)."""
    seen = 0
    while not stop.is_set():
        with sink.lock:
            new = sink.messages[seen:]
            seen += len(new)
        now = time.perf_counter()
        for m in new:
            for rcpt in m.rcpt_tos:
                arrived.setdefault(rcpt.lower(), now)
        stop.wait(0.002)


def receipts(server: Dovecot, settings: Path, sink: SmtpSink, mails: list[tuple[str, bytes]],
             interval: float, wait: float, log: Path) -> list[float | None]:
    """Seconds from each APPEND until its receipt reached the sink (None: none came in time)."""
    arrived: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(sink, arrived, stop), daemon=True)
    watcher.start()
    # the command from this checkout (not whichever the venv's console script points at)
    command = "import sys; from intake.commands.cli import main; sys.exit(main())"
    begins = log.stat().st_size if log.exists() else 0  # the log is shared by every round
    with log.open("ab") as err:
        child = subprocess.Popen([sys.executable, "-c", command, "--config", str(settings), "run"],
                                 stdout=err, stderr=err, cwd=Path(__file__).resolve().parents[1],
                                 env={**os.environ}, start_new_session=True)
    try:
        _ready(log, child, begins)
        sent: dict[str, float] = {}
        with server.client() as appender:
            for address, raw in mails:
                sent[address] = time.perf_counter()
                appender.append("INBOX", raw)
                time.sleep(interval)
        deadline = time.perf_counter() + wait
        while time.perf_counter() < deadline and any(a not in arrived for a in sent):
            if child.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
        stop.set()
        watcher.join()
    return [arrived[a] - t if a in arrived else None for a, t in sent.items()]


def _ready(log: Path, child: subprocess.Popen[bytes], begins: int, timeout: float = 60) -> None:
    """Wait until this worker (its lines from offset ``begins`` of the log) has started and looked
    at the (empty) INBOX once: an earlier round's start line in the same log does not count."""
    deadline = time.perf_counter() + timeout

    def ours() -> str:
        with log.open("rb") as f:
            f.seek(begins)
            return f.read().decode(errors="replace")

    while time.perf_counter() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"pulje-intake run ended at once: {ours()[-2000:]}")
        if "pulje-intake running" in ours():
            time.sleep(2)  # its first fetch and the IDLE command
            return
        time.sleep(0.1)
    raise RuntimeError("pulje-intake run did not start")
