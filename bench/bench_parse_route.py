"""Benchmark: parse + route of the real-world corpus, against the standard library's parser.

Prints the ratio of our time (parse_mail + route per message) to a reference
measured in the same run: `email.message_from_bytes` over the same bytes. The
ratio, not the seconds, is what to compare between commits.

    .venv/bin/python bench/bench_parse_route.py [ROUNDS]
"""

from __future__ import annotations

import email
import email.policy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake import routing  # noqa: E402
from intake.pool import load_pool  # noqa: E402
from parsers.mime import parse_mail  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "real-world-mail"


def _time(func, mails, rounds) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in mails:
            func(raw)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Run both and print seconds and the ratio."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    mails = [p.read_bytes() for p in sorted(CORPUS.rglob("*.eml"))]
    pool = load_pool("sociale-viceværter-2025")

    def ours(raw: bytes) -> None:
        routing.route(parse_mail(raw), pool)

    def reference(raw: bytes) -> None:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            part.get_payload(decode=True)

    ref = _time(reference, mails, rounds)
    our = _time(ours, mails, rounds)
    print(f"{len(mails)} messages, best of {rounds}")
    print(f"reference (stdlib parse + decode): {ref:.3f} s")
    print(f"pulje-intake parse + route:        {our:.3f} s")
    print(f"ratio: {our / ref:.2f}x the reference")


if __name__ == "__main__":
    main()
