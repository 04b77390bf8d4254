"""The benchmark command still runs (issue #15): tiny sizes, one round, on this run's database.

Speed is never asserted here (bench/RESULTS.md has the numbers); this only
keeps `bash bench/run` from rotting: its Dovecot, SMTP sink, children, the
references and every row of the table.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import DB_KIND, PG_URL

ROOT = Path(__file__).resolve().parents[1]


def test_bench_command_prints_every_row(tmp_path):
    out = tmp_path / "table.md"
    proc = subprocess.run(
        ["bash", "bench/run", "--rounds", "1", "--mails", "5", "--small", "2", "--small-factor", "2",
         "--cases", "20", "--latency-mails", "1", "--latency-interval", "0.1", "--drain-seconds", "1",
         "--big-mb", "1", "--db", DB_KIND, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "PULJE_BENCH_PG_URL": PG_URL})
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = out.read_text(encoding="utf-8")
    for row in ("first import, fetch+store+ack vs mbsync", "first import, whole poll",
                "processing from a Maildir", "time per small mail", "APPEND → receipt at the SMTP sink",
                "peak RSS, one mail with a 1 MB attachment", "`cases list` at 20 cases",
                "`export json` at 20 cases", "`export xlsx` at 20 cases", "`digest` at 20 cases",
                "`web /sager` at 20 cases"):
        assert row in table, row
    assert f"| {DB_KIND} |" in table
    # the one receipt reached the sink: its latency is a number, not "never"
    latency = next(line for line in table.splitlines() if line.startswith("| APPEND"))
    assert "inf" not in latency
