"""Benchmark: fetching from a real Dovecot with ImapSource, against raw imapclient.

Starts a throw-away Dovecot (the test helper in ``tests/dovecot.py``), puts N
messages of about S bytes in its INBOX, and times

- the reference: one connection, ``SEARCH ALL``, then ``FETCH BODY.PEEK[]`` in
  batches of the same size, nothing else (the floor for an imapclient fetch);
- ``mbsync`` (isync) pulling the same folder into a Maildir, if it is installed;
- ``ImapSource``: connect, ``select``, and ``fetch_new`` from UID 0, as the fetch
  loop calls it (metadata first, then bodies; no database).

Each is run ROUNDS times and the best time counts. The ratio to the reference,
not the seconds, is what to compare between commits.

    .venv/bin/python bench/bench_fetch.py [--messages 300] [--size 51200] [--batch 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the Dovecot helper is a plain module there

from dovecot import PASSWORD, PASSWORD_ENV, USER, Dovecot, dovecot_binary, to_crlf  # noqa: E402

from intake.settings import ImapSourceSettings  # noqa: E402
from intake.sources.imap import ImapSource  # noqa: E402


def make_message(i: int, size: int) -> bytes:
    """A plain mail of about ``size`` bytes with base64-looking body lines."""
    head = (f"From: Org {i} <kontakt@org{i}.dk>\nTo: pulje@bl.dk\n"
            f"Subject: Ansøgning – Pulje til sociale viceværter {i}\n"
            f"Message-ID: <bench-{i}@org{i}.dk>\nDate: Tue, 29 Jul 2025 10:00:00 +0200\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: base64\n\n").encode()
    line = (b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0" + b"\n")
    body = line * max(1, (size - len(head)) // len(line))
    return to_crlf(head + body)


def fill(server: Dovecot, n: int, size: int) -> int:
    """APPEND ``n`` messages over one connection; return the total bytes."""
    when = dt.datetime(2025, 7, 29, 8, 0, tzinfo=dt.UTC)
    total = 0
    with server.client() as c:
        for i in range(n):
            raw = make_message(i, size)
            c.append("INBOX", raw, msg_time=when)
            total += len(raw)
    return total


def reference(server: Dovecot, batch: int) -> int:
    """Raw imapclient: SEARCH ALL, then BODY.PEEK[] in batches; return bytes fetched."""
    got = 0
    with server.client() as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["ALL"])
        for start in range(0, len(uids), batch):
            data = c.fetch(uids[start:start + batch], ["BODY.PEEK[]"])
            got += sum(len(d[b"BODY[]"]) for d in data.values())
    return got


def ours(cfg: ImapSourceSettings) -> int:
    """ImapSource as the fetch loop drives it; return bytes fetched."""
    src = ImapSource(cfg)
    try:
        src.select("INBOX")
        return sum(len(f.raw) for batch in src.fetch_new("INBOX", 0, set) for f in batch)
    finally:
        src.close()


def mbsync(server: Dovecot, work: Path) -> int | None:
    """``mbsync`` pulling INBOX into a fresh Maildir; None when isync is not installed."""
    binary = shutil.which("mbsync")
    if binary is None:
        return None
    target = work / f"mbsync-{time.monotonic_ns()}"
    target.mkdir()
    rc = work / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount bench\nHost {server.host}\nPort {server.port}\nUser {USER}\nPass {PASSWORD}\n"
        "SSLType None\nAuthMechs PLAIN\n\n"
        "IMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {target}/\nInbox {target}/INBOX\n\n"
        "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\nCreate Near\n"
        "SyncState *\n",
        encoding="utf-8",
    )
    subprocess.run([binary, "-q", "-c", str(rc), "bench"], check=True)
    return sum(p.stat().st_size for p in (target / "INBOX").rglob("*") if p.is_file()
               and p.parent.name in ("new", "cur"))


def best(func, rounds: int) -> tuple[float, int]:
    """The best wall time over ``rounds`` runs, and what the last run returned."""
    times, result = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    """Run the benchmark and print seconds, MB/s and the ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=300)
    p.add_argument("--size", type=int, default=50 * 1024)
    p.add_argument("--batch", type=int, default=50, help="fetch_batch for both sides")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if dovecot_binary() is None:
        print("dovecot is not installed (Debian: apt-get install dovecot-imapd)", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="pulje-bench-"))
    work.chmod(0o755)
    server = Dovecot(work / "dovecot").start()
    try:
        total = fill(server, args.messages, args.size)
        os.environ[PASSWORD_ENV] = PASSWORD
        cfg = ImapSourceSettings(
            name="bench", host=server.host, port=server.port, security="plain", username=USER,
            password_env=PASSWORD_ENV, password_file=None, folders=("INBOX",), ack="keyword",
            ack_keyword="$PuljeIntake", move_to=None, idle=False, poll_interval_seconds=60,
            idle_renew_seconds=1500, timeout_seconds=30, fetch_batch=args.batch,
            slice_bytes=1024 * 1024, reconnect_max_seconds=60,
        )
        ref_t, ref_bytes = best(lambda: reference(server, args.batch), args.rounds)
        our_t, our_bytes = best(lambda: ours(cfg), args.rounds)
        sliced = replace(cfg, slice_bytes=max(1024, args.size // 4))
        sl_t, sl_bytes = best(lambda: ours(sliced), args.rounds)
        assert ref_bytes == our_bytes == sl_bytes == total, (ref_bytes, our_bytes, sl_bytes, total)
        mb = total / 1e6
        print(f"{args.messages} messages × {args.size} bytes ({mb:.1f} MB), batch {args.batch}, "
              f"best of {args.rounds}")
        print(f"reference (imapclient BODY.PEEK[] batches): {ref_t:.3f} s  {mb / ref_t:7.1f} MB/s")
        mbs = mbsync(server, work)
        if mbs is not None:
            mb_t, _ = best(lambda: mbsync(server, work), args.rounds)
            print(f"mbsync (isync) pull to Maildir:            {mb_t:.3f} s  {mb / mb_t:7.1f} MB/s")
        else:
            print("mbsync: not installed (Debian: isync), skipped")
        print(f"ImapSource.fetch_new:                        {our_t:.3f} s  {mb / our_t:7.1f} MB/s")
        print(f"ImapSource, every message in 4 slices:      {sl_t:.3f} s  {mb / sl_t:7.1f} MB/s")
        print(f"ratio: ImapSource takes {our_t / ref_t:.2f}x the reference's time "
              f"({sl_t / ref_t:.2f}x when slicing)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
