"""The benchmark of issue #15: every goal row, against what people would use instead, in one run.

    bash bench/run [--rounds 3] [--mails 500] [--small 300] [--small-factor 10] [--cases 10000]
                   [--latency-mails 20] [--big-mb 25] [--db sqlite,postgresql]

Starts its own Dovecot and SMTP sink on loopback, generates the mail
(``bench/corpus.py``), and for each round, database and row runs ours and the
reference one after the other (rounds interleaved, each measurement in a fresh
child process, ``bench/tasks.py``). Prints min and median of each, the ratio of
the medians, the goal and whether it is met. The full sizes of the issue:
``--mails 5000 --small 1000 --small-factor 100 --latency-mails 200`` (long).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from dovecot import PASSWORD, PASSWORD_ENV, USER, Dovecot, dovecot_binary, imap_source_toml, to_crlf  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

from bench import corpus, latency  # noqa: E402

PG_URL = os.environ.get("PULJE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MB = 1024 * 1024


class Bench:
    """The run's servers, folders and databases, and every sample measured."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work = args, work
        self.samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (row, db, side) → values
        self.notes: dict[str, str] = {}
        self.schemas: list[str] = []
        self.server = Dovecot(work / "dovecot").start()
        self.sink = SmtpSink()
        self.sink.start()
        os.environ[PASSWORD_ENV] = PASSWORD

    def close(self) -> None:
        """Stop the servers, drop the PostgreSQL schemas."""
        self.server.stop()
        self.sink.stop()
        if self.schemas:
            from sqlalchemy import create_engine, text

            engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for schema in self.schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()

    # --- databases and settings -------------------------------------------------------

    def database(self, db: str) -> str:
        """A fresh, empty database of kind ``db``: a SQLite file or a PostgreSQL schema."""
        if db == "sqlite":
            return f"sqlite:///{self.work}/db-{uuid.uuid4().hex[:8]}.sqlite"
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        return f"{PG_URL}?options=-csearch_path%3D{schema}"

    def settings(self, url: str, source: str, extra: str = "") -> Path:
        """A settings file: the pool, the database, one source, files or SMTP outbox."""
        path = self.work / f"settings-{uuid.uuid4().hex[:8]}.toml"
        outbox = extra or f'[outbox]\nmode = "files"\ndir = "{self.work}/outbox-{path.stem}"\n'
        path.write_text(f'pool = "sociale-viceværter-2025"\n\n[database]\nurl = "{url}"\n\n{source}\n{outbox}\n',
                        encoding="utf-8")
        return path

    def imap_source(self, user_folder: str = "INBOX", idle: bool = False) -> str:
        """The Dovecot INBOX as a source (keyword ack, the defaults otherwise)."""
        return imap_source_toml(self.server, idle=idle, folders=[user_folder])

    @staticmethod
    def maildir_source(folder: Path) -> str:
        """A Maildir as a source."""
        return f'[[sources]]\ntype = "maildir"\nname = "bench"\npath = "{folder}"\n'

    # --- running things ---------------------------------------------------------------

    def child(self, *args: str) -> tuple[dict[str, Any], float]:
        """Run ``python -m bench.tasks ARGS`` (or bench.readpaths); its JSON and its peak RSS in MiB."""
        module = "bench.readpaths" if args[0] == "readpaths" else "bench.tasks"
        argv = [sys.executable, "-m", module, *(args[1:] if module == "bench.readpaths" else args)]
        with (self.work / "children.log").open("ab") as err:
            proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed; see {self.work / 'children.log'}: "
                               f"{(self.work / 'children.log').read_text(errors='replace')[-1500:]}")
        result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        return result, float(result.get("rss_mib", float("nan")))

    def add(self, row: str, db: str, side: str, value: float) -> None:
        """One sample."""
        self.samples[(row, db, side)].append(value)


def mbsync(bench: Bench) -> float | None:
    """Seconds for mbsync to pull INBOX into a fresh Maildir; None without isync."""
    binary = shutil.which("mbsync")
    if binary is None:
        return None
    target = bench.work / f"mbsync-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    rc = bench.work / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount bench\nHost {bench.server.host}\nPort {bench.server.port}\nUser {USER}\nPass {PASSWORD}\n"
        "SSLType None\nAuthMechs PLAIN\n\nIMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {target}/\nInbox {target}/INBOX\n\n"
        "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\nCreate Near\nSyncState *\n",
        encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([binary, "-q", "-c", str(rc), "bench"], check=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return seconds


def one_round(bench: Bench, db: str, folders: dict[str, Path]) -> None:
    """Every row once on ``db``: ours, then its reference."""
    a = bench.args
    # 1-2: first import from Dovecot (fetch + store + ack; the whole poll) against mbsync (+ the parse floor)
    ours, _ = bench.child("fetch", str(bench.settings(bench.database(db), bench.imap_source())))
    bench.add("import", db, "ours", ours["seconds"])
    ref = mbsync(bench)
    if ref is not None:
        bench.add("import", db, "ref", ref)
    floor, _ = bench.child("floor", str(folders["mixed"]))
    ours, rss_mixed = bench.child("poll", str(bench.settings(bench.database(db), bench.imap_source())))
    bench.add("import+poll", db, "ours", ours["seconds"])
    if ref is not None:
        bench.add("import+poll", db, "ref", ref + floor["seconds"])
    # 3: processing the same mail from a Maildir, whole poll, against the parse floor
    ours, _ = bench.child("poll", str(bench.settings(bench.database(db), bench.maildir_source(folders["mixed"]))))
    floor, _ = bench.child("floor", str(folders["mixed"]))
    bench.add("process", db, "ours", ours["seconds"])
    bench.add("process", db, "ref", floor["seconds"])
    bench.add("rss-mixed", db, "ours", rss_mixed)
    # time per mail, small mails, S → S × factor
    for key in ("small", "large"):
        ours, rss = bench.child("poll", str(bench.settings(bench.database(db), bench.maildir_source(folders[key]))))
        n = a.small * (a.small_factor if key == "large" else 1)
        bench.add("per-mail", db, "ours" if key == "large" else "ref", ours["seconds"] / n)
        bench.add("rss-small", db, "ours" if key == "large" else "ref", rss)
    # peak RSS with one big attachment, against mail-parser alone on it and an idle interpreter
    _, rss = bench.child("poll", str(bench.settings(bench.database(db), bench.maildir_source(folders["big"]))))
    bench.add("rss-big", db, "ours", rss)
    _, rss = bench.child("mailparser", str(folders["big"]))
    bench.add("rss-big", db, "ref", rss)
    _, rss = bench.child("idle")
    bench.add("rss-idle", db, "ours", rss)
    # staff's lists at many cases (seeded once per database, kept across rounds)
    if db not in bench.notes:
        bench.notes[db] = str(bench.settings(bench.database(db), bench.maildir_source(folders["empty"])))
    paths, _ = bench.child("readpaths", bench.notes[db], str(a.cases))
    for name, m in paths.items():
        bench.add(f"read:{name}", db, "ours", m["seconds"])
        bench.add(f"stmts:{name}", db, "ours", m["statements"])
    # APPEND → receipt, against the bare IDLE wake
    if a.latency_mails:
        latency.empty_inbox(bench.server)
        mails = latency.applications(a.latency_mails, f"r{uuid.uuid4().hex[:6]}")
        for value in latency.idle_floor(bench.server, mails, a.latency_interval):
            bench.add("latency", db, "ref", value)
        latency.empty_inbox(bench.server)
        mails = latency.applications(a.latency_mails, f"r{uuid.uuid4().hex[:6]}")
        schedule = f"\n[schedule]\ndrain_seconds = {a.drain_seconds}\n" if a.drain_seconds else ""
        settings = bench.settings(bench.database(db), bench.imap_source(idle=True),
                                  bench.sink.settings_toml() + schedule)
        waited = latency.receipts(bench.server, settings, bench.sink, mails, a.latency_interval,
                                  wait=(a.drain_seconds or 60) + 30, log=bench.work / "run.log")
        for value in waited:
            bench.add("latency", db, "ours", value if value is not None else float("inf"))
        latency.empty_inbox(bench.server)
        fill(bench, folders["mixed"])


def fill(bench: Bench, maildir: Path) -> None:
    """The mixed mail into Dovecot's INBOX (for the import rows)."""
    with bench.server.client() as c:
        for path in sorted((maildir / "new").iterdir()):
            c.append("INBOX", to_crlf(path.read_bytes()))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


ROWS: list[tuple[str, str, str, Callable[[float], bool]]] = [
    # (row, what, goal, goal met by the ratio of medians)
    ("import", "first import, fetch+store+ack vs mbsync", "ours ≤ 0.83× mbsync (≥ 1.2× its msg/s)",
     lambda r: r <= 1 / 1.2),
    ("import+poll", "first import, whole poll vs mbsync + parse floor", "≤ 1.3×", lambda r: r <= 1.3),
    ("process", "processing from a Maildir, whole poll vs parse floor", "≤ 1.3×", lambda r: r <= 1.3),
    ("per-mail", "time per small mail, S×factor vs S", "≤ 1.2×", lambda r: r <= 1.2),
]


def report(bench: Bench, dbs: list[str], sizes: dict[str, Any]) -> str:
    """The table: min, median, ratio and goal of every row."""
    s = bench.samples
    lines = [f"pulje-intake bench: {sizes}", "",
             "| row | db | ours min / median | reference min / median | ratio | goal | met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]

    def mm(vals: list[float], unit: str = "s") -> str:
        return f"{min(vals):.3f} / {statistics.median(vals):.3f} {unit}" if vals else "n/a"

    for row, what, goal, ok in ROWS:
        for db in dbs:
            ours, ref = s[(row, db, "ours")], s[(row, db, "ref")]
            ratio = statistics.median(ours) / statistics.median(ref) if ours and ref else None
            lines.append(f"| {what} | {db} | {mm(ours)} | {mm(ref)} | "
                         f"{f'{ratio:.2f}×' if ratio else 'n/a'} | {goal} | "
                         f"{('yes' if ok(ratio) else 'NO') if ratio else '-'} |")
    for db in dbs:
        ours, ref = s[("latency", db, "ours")], s[("latency", db, "ref")]
        if ours and ref:
            diff = pct(ours, 95) - pct(ref, 95)
            lines.append(f"| APPEND → receipt at the SMTP sink, p50 / p95 vs bare IDLE wake | {db} | "
                         f"{pct(ours, 50):.3f} / {pct(ours, 95):.3f} s | {pct(ref, 50):.3f} / {pct(ref, 95):.3f} s | "
                         f"+{diff:.3f} s | p95 within +0.5 s | {'yes' if diff <= 0.5 else 'NO'} |")
    for db in dbs:
        big, mp, idle = s[("rss-big", db, "ours")], s[("rss-big", db, "ref")], s[("rss-idle", db, "ours")]
        lines.append(f"| peak RSS, one mail with a {bench.args.big_mb} MB attachment (poll) vs mail-parser alone "
                     f"| {db} | {mm(big, 'MiB')} | {mm(mp, 'MiB')} (idle interpreter {mm(idle, 'MiB')}) | "
                     f"{statistics.median(big) / statistics.median(mp):.2f}× | < 250 MB | "
                     f"{'yes' if max(big) * MB < 250e6 else 'NO'} |")
        mixed, small, large = s[("rss-mixed", db, "ours")], s[("rss-small", db, "ref")], s[("rss-small", db, "ours")]
        lines.append(f"| peak RSS, import+poll of the mixed mail; S vs S×factor small mails | {db} | "
                     f"{mm(mixed, 'MiB')}; {mm(large, 'MiB')} | {mm(small, 'MiB')} | "
                     f"{statistics.median(large) / statistics.median(small):.2f}× | < 250 MB, no growth | "
                     f"{'yes' if max(mixed + large) * MB < 250e6 else 'NO'} |")
    if len(dbs) == 2:
        for row, what, _, _ in ROWS[:3]:
            pg, lite = s[(row, "postgresql", "ours")], s[(row, "sqlite", "ours")]
            ratio = statistics.median(pg) / statistics.median(lite)
            lines.append(f"| PostgreSQL vs SQLite: {what.split(' vs ')[0]} | both | {mm(pg)} | {mm(lite)} | "
                         f"{ratio:.2f}× | ≤ 1.2× | {'yes' if ratio <= 1.2 else 'NO'} |")
    ref_names = sorted({k[0][5:] for k in s if k[0].startswith("read:")})
    for db in dbs:
        base = s[("read:one SELECT (reference)", db, "ours")]
        for name in ref_names:
            if name.startswith("one SELECT"):
                continue
            vals, stmts = s[(f"read:{name}", db, "ours")], s[(f"stmts:{name}", db, "ours")]
            lines.append(f"| `{name}` at {bench.args.cases} cases ({int(max(stmts))} SQL statements) | {db} | "
                         f"{mm(vals)} | one SELECT {mm(base)} | "
                         f"{statistics.median(vals) / statistics.median(base):.0f}× | < 1 s, fixed statements | "
                         f"{'yes' if statistics.median(vals) < 1 else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mails", type=int, default=500, help="mixed mails (2 KB–500 KB, a fifth applications)")
    p.add_argument("--small", type=int, default=300, help="small mails for time per mail (S)")
    p.add_argument("--small-factor", type=int, default=10, help="the larger run is S × this")
    p.add_argument("--cases", type=int, default=10_000, help="cases for the read paths")
    p.add_argument("--latency-mails", type=int, default=20, help="mails appended one by one (0: no latency row)")
    p.add_argument("--latency-interval", type=float, default=1.0, help="seconds between two APPENDs")
    p.add_argument("--drain-seconds", type=float, default=0, help="override [schedule] drain_seconds (0: default)")
    p.add_argument("--big-mb", type=int, default=25, help="size of the one large attachment")
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--out", help="also write the table to this file")
    a = p.parse_args(argv)
    if dovecot_binary() is None:
        print("dovecot is not installed (Debian: apt-get install dovecot-imapd)", file=sys.stderr)
        return 1
    dbs = [d.strip() for d in a.db.split(",") if d.strip()]
    work = Path(tempfile.mkdtemp(prefix="pulje-bench-"))
    work.chmod(0o755)
    bench = Bench(a, work)
    try:
        folders = {"mixed": work / "mixed", "small": work / "small", "large": work / "large",
                   "big": work / "big", "empty": work / "empty"}
        mixed = corpus.mixed(a.mails)
        size = corpus.to_maildir(folders["mixed"], mixed)
        corpus.to_maildir(folders["small"], corpus.small(a.small))
        corpus.to_maildir(folders["large"], corpus.small(a.small * a.small_factor))
        corpus.to_maildir(folders["big"], corpus.big_attachment(a.big_mb))
        corpus.to_maildir(folders["empty"], [])
        fill(bench, folders["mixed"])
        if shutil.which("mbsync") is None:
            print("mbsync not found (Debian: isync; bench/run installs it): import rows have no reference",
                  file=sys.stderr)
        for r in range(a.rounds):
            for db in dbs:
                print(f"round {r + 1}/{a.rounds} on {db} …", file=sys.stderr, flush=True)
                one_round(bench, db, folders)
        sizes = {"mails": a.mails, "MB": round(size / 1e6, 1), "S": a.small, "S×factor": a.small * a.small_factor,
                 "cases": a.cases, "latency mails": a.latency_mails, "rounds": a.rounds}
        table = report(bench, dbs, sizes)
        print(table)
        if a.out:
            Path(a.out).write_text(table + "\n", encoding="utf-8")
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
