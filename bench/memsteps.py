"""Where the worker's peak RSS goes: a ``poll`` of one large mail, step by step (issue #15).

    python -m bench.memsteps --db postgresql [--big-mb 25] [--pg-url URL]

Writes the one mail of ``bench/corpus.big_attachment`` into a Maildir, runs
``poll_once`` on a fresh database and prints, for each step of the worker
(storing the fetched batch, claiming, sending the mail to the reader, collecting
its answers, recording), the worker's own peak RSS during the step (``VmHWM``,
reset before each step through ``/proc/self/clear_refs``; the reader child is a
process of its own and not counted, as in the benchmark's row) and the peak of
Python's allocations (tracemalloc). A step that runs twice (recording is retried
after a read) is listed each time.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
ROWS: list[tuple[str, float, float, float]] = []


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peaks() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux ≥ 4.0)
    tracemalloc.reset_peak()


def _step(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _reset_peaks()
        try:
            return fn(*args, **kwargs)
        finally:
            ROWS.append((name, _status("VmHWM"), _status("VmRSS"), tracemalloc.get_traced_memory()[1] / MIB))
    return wrapped


def main(argv: list[str] | None = None) -> int:
    """Run the profile and print the step table (Markdown)."""
    p = argparse.ArgumentParser(prog="bench.memsteps", description=__doc__.splitlines()[0])
    p.add_argument("--db", default="postgresql", choices=["sqlite", "postgresql"])
    p.add_argument("--big-mb", type=int, default=25)
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    a = p.parse_args(argv)

    from intake.app import build_app
    from intake.cases import pipeline, reading
    from intake.service import poll_once
    from intake.settings import load_settings
    from store import rawstore

    work = Path(tempfile.mkdtemp(prefix="pulje-memsteps-"))
    # written by a child: making the mail here would leave this process larger than a worker
    subprocess.run([sys.executable, "-c", "import sys; from bench import corpus; "
                    "corpus.to_maildir(sys.argv[1], corpus.big_attachment(int(sys.argv[2])))",
                    str(work / "big"), str(a.big_mb)], cwd=ROOT, check=True)
    schema = None
    if a.db == "sqlite":
        url = f"sqlite:///{work}/db.sqlite"
    else:
        from sqlalchemy import create_engine, text

        schema = f"memsteps_{uuid.uuid4().hex[:12]}"
        engine = create_engine(a.pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{a.pg_url}?options=-csearch_path%3D{schema}"
    settings = work / "settings.toml"
    settings.write_text(f'pool = "sociale-viceværter-2025"\n\n[database]\nurl = "{url}"\n\n'
                        f'[[sources]]\ntype = "maildir"\nname = "bench"\npath = "{work / "big"}"\n\n'
                        f'[outbox]\nmode = "files"\ndir = "{work / "outbox"}"\n', encoding="utf-8")
    rawstore.store_batch = _step("store the fetched batch (store_batch)", rawstore.store_batch)  # type: ignore[assignment]
    pipeline._claim = _step("claim (and load what reading needs)", pipeline._claim)  # type: ignore[assignment]
    reading.Reader.submit = _step("send a job to the reader", reading.Reader.submit)  # type: ignore[method-assign]
    reading.Reader.collect = _step("collect an answer of the reader", reading.Reader.collect)  # type: ignore[method-assign]
    pipeline._record = _step("record (one transaction)", pipeline._record)  # type: ignore[assignment]
    try:
        app = build_app(load_settings(settings))
        tracemalloc.start()
        _reset_peaks()
        start = _status("VmRSS")
        poll_once(app)
        whole = max([_status("VmHWM"), *(hwm for _, hwm, _, _ in ROWS)])  # the steps reset VmHWM
        ROWS.append(("whole poll (the highest step)", whole, _status("VmRSS"),
                     max(traced for _, _, _, traced in ROWS)))
        print(f"{a.db}, one mail with a {a.big_mb} MB attachment; RSS before the poll {start:.0f} MiB\n")
        print("| step | peak RSS in the step (VmHWM) | RSS after | tracemalloc peak |")
        print("| --- | --- | --- | --- |")
        for name, hwm, rss, traced in ROWS:
            print(f"| {name} | {hwm:.0f} MiB | {rss:.0f} MiB | {traced:.0f} MiB |")
    finally:
        if schema is not None:
            from sqlalchemy import create_engine, text

            engine = create_engine(a.pg_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
