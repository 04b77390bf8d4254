"""Every odd real-world mail in ../shared/corpus goes through intake and ends in a terminal state."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from intake.service import poll_once
from store.models import RawMessage
from store.words import TERMINAL_STATES, MessageState

CORPUS = Path(os.environ.get(
    "PULJE_CORPUS", Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real-world-mail"
))


def corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.eml"))


def test_whole_corpus_reaches_terminal_states(app, workdir, capsys):
    # CI clones the project with ../shared beside it: a missing corpus is a failure, not a skip
    assert CORPUS.is_dir(), f"the real-world corpus is not at {CORPUS} (set PULJE_CORPUS)"
    files = corpus_files()
    assert len(files) > 150
    mail = workdir / "mail"
    for f in files:
        target = mail / f.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    report = poll_once(app)
    stats = report.fetched["maildir:local"]
    assert stats.seen == len(files)
    with app.context.factory() as s:
        rows = list(s.scalars(select(RawMessage)))
        # every file is stored, or recognised as the same mail as a stored one
        locations = sum(len(r.locations) for r in rows)
        assert locations == len(files)
        states = Counter(r.state for r in rows)
        outcomes = Counter(r.outcome or r.state for r in rows)
        for r in rows:
            assert r.state in TERMINAL_STATES, (r.id, r.state, r.last_error)
            assert r.reason, (r.id, r.subject)
    with capsys.disabled():
        print(f"\ncorpus: {len(files)} files, {len(rows)} distinct messages; "
              f"states {dict(states)}; outcomes {dict(outcomes)}")
    # nothing in this corpus is an application to our pool: no case may appear
    assert outcomes.get("case", 0) == 0
    # and bounces, auto-replies and list mail are recognised as such
    assert outcomes.get("ignored", 0) >= 10
    assert states.get(MessageState.QUARANTINED, 0) == 0
