"""The promise under kill -9: 200 mixed mails in a real Dovecot, `pulje-intake run` SIGKILLed
(its whole process group) at 20 seeded random moments and restarted each time. At the end every
mail is stored once, every case made once, every receipt delivered (a resend carries the same
Message-ID), every server message acknowledged, nothing left half-done (issue #10)."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter

import pytest
from conftest import write_settings
from dovecot import imap_source_toml
from faultmail import mixed
from worker_harness import LEAN, POLITE_ENOUGH, Db, Worker, identity, wait_for

pytest_plugins = ["imap_fixtures", "smtp_sink"]

KILLS = 20
SEED = 20261201

# a mail whose sender was killed goes again after 2 s, not the default minute
OUTBOX_EXTRA = POLITE_ENOUGH + "send_lease_seconds = 2\n"
# ... and a mail being read when its worker was killed is taken again after 25 s, not 5 minutes
# (a claim must outlast child_wall_seconds × readers: 10 s × 2)
FAST_CLAIMS = "\n[processing]\nchild_wall_seconds = 10\nclaim_seconds = 25\n"


def _phase(log: str) -> str:
    """What the worker was last doing before a kill, read from its last log line (for the figures)."""
    lines = [line for line in log.rsplit("=== start", 1)[-1].splitlines()[1:]
             if line.strip() and not line.startswith("===")]
    last = lines[-1] if lines else ""
    for needle, phase in (("sent", "send"), ("outbox", "send"), ("receipt", "process"), ("→", "process"),
                          ("stored", "store"), ("acknowledg", "store"), ("running", "fetch")):
        if needle in last:
            return phase
    return "start"


def _kill_and_restart(worker: Worker, rng: random.Random, mails: list[bytes], dovecot) -> Counter[str]:
    """Each start gets a tenth of the mail, so every run has fetching, storing, processing and
    sending to do when the kill comes."""
    phases: Counter[str] = Counter()
    chunk = len(mails) // KILLS
    for k in range(KILLS):
        for raw in mails[k * chunk:(k + 1) * chunk]:
            dovecot.append(raw, dt.datetime.now(dt.UTC))  # recent: receipts are due
        worker.start()
        time.sleep(rng.uniform(0.9, 3.5))  # start-up takes about a second
        worker.kill()
        phases[_phase(worker.log())] += 1
    return phases


@pytest.mark.parametrize("outbox", [pytest.param("smtp", marks=pytest.mark.only_on("postgresql")),
                                    pytest.param("files", marks=pytest.mark.only_on("sqlite"))])
def test_kill_9_at_twenty_moments_loses_nothing_and_doubles_nothing(workdir, db_url, dovecot, smtp_sink, outbox):
    mails, applications = mixed(applications=60, full=40, replies=40, questions=60, real_world=40)
    assert len(mails) == 200
    if outbox == "smtp":
        extra = smtp_sink.settings_toml().replace("[outbox.smtp]", OUTBOX_EXTRA + "[outbox.smtp]")
    else:
        extra = f'[outbox]\nmode = "files"\ndir = "{workdir}/outbox"\n{OUTBOX_EXTRA}'
    settings = write_settings(workdir, db_url, extra + LEAN + FAST_CLAIMS,
                              sources=imap_source_toml(dovecot, poll_interval_seconds=0.5, fetch_batch=20))
    worker = Worker(settings, workdir / "worker.log")
    db = Db(db_url)
    began = time.monotonic()
    try:
        phases = _kill_and_restart(worker, random.Random(SEED), mails, dovecot)
        worker.start().wait_running()

        def done() -> bool:
            flags = dovecot.flags()
            return (db.messages() == 200 and db.unfinished() == 0
                    and all("$PuljeIntake" in f for f in flags.values())
                    and db.outbox_states().get("pending", 0) == 0)

        wait_for(done, "every mail stored, processed, acknowledged and sent", limit=420,
                 workers=[worker], dovecot_log=dovecot.log)
        assert worker.stop() == 0, worker.log()[-5000:]
        took = time.monotonic() - began

        states = db.message_states()
        senders = db.case_senders()
        sent_ids = db.outbox_message_ids("sent")
        outbox_states = db.outbox_states()
        if outbox == "smtp":
            delivered = smtp_sink.by_message_id()
        else:
            delivered = Counter()
            for f in (workdir / "outbox").glob("*.eml"):
                delivered[next(line for line in f.read_text(errors="replace").splitlines()
                               if line.lower().startswith("message-id:")).split(":", 1)[1].strip()] += 1
        resends = {mid: n for mid, n in delivered.items() if n > 1}
        print(f"\nkill -9 harness ({db_url.split(':')[0]}, outbox {outbox}): {len(mails)} mails, "
              f"{KILLS} kills by phase {dict(phases)}, {worker.starts} starts, {took:.0f} s in all")
        print(f"  stored {sum(states.values())} (by state {states}), cases {len(senders)} "
              f"for {applications} applications, outbox {outbox_states}, delivered {sum(delivered.values())} "
              f"mails with {len(delivered)} Message-IDs, resent after a kill mid-send: {len(resends)}")

        assert sum(states.values()) == len({identity(m) for m in mails}) == 200  # every mail once
        assert set(states) <= {"processed", "quarantined"}  # nothing half-done
        assert len(senders) == len(set(senders)) == applications  # every case once
        assert set(outbox_states) <= {"sent", "suppressed"} and sent_ids
        assert set(delivered) == set(sent_ids)  # every receipt delivered, at least once
        assert "Traceback" not in worker.log()
    finally:
        worker.kill()
        db.close()
