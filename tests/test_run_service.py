"""`pulje-intake run` as a service: picks up new mail while running, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import write_settings
from sqlalchemy import create_engine, func, select

from intake.documents.samples import make_mail
from store.models import Case


def _count_cases(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Case)).scalar()
    except Exception:  # schema not made yet
        return 0
    finally:
        engine.dispose()


def _wait_for(predicate, limit: float = 60.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_run_takes_new_mail_and_stops_on_sigterm(workdir, db_url):
    sources = ('[[sources]]\ntype = "maildir"\nname = "local"\npath = "mail"\n'
               'poll_interval_seconds = 0.5\n')
    settings = write_settings(workdir, db_url, sources=sources)
    for sub in ("tmp", "new", "cur"):
        (workdir / "mail" / sub).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PULJE_INTAKE_CONFIG": str(settings)}
    proc = subprocess.Popen([sys.executable, "-m", "intake.commands.cli", "-v", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for i in range(3):
            tmp = workdir / "mail" / "tmp" / f"m{i}"
            tmp.write_bytes(make_mail("Ansøgning – Pulje til sociale viceværter", body=f"nr {i}"))
            tmp.rename(workdir / "mail" / "new" / f"m{i}")
        assert _wait_for(lambda: _count_cases(db_url) == 3), "the running service did not take the mail"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopping" in out and "pulje-intake stopped" in out
    assert "Traceback" not in out
