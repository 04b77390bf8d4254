"""Issue #9: receipts are no spam cannon. Automatic mail goes only to senders the inbox's own
mail server verified; a forged sender still gets a case, marked for staff, and no mail; rate
limits per recipient, per domain and in all hold whatever the sender."""

from __future__ import annotations

import datetime as dt

import pytest
from notify_helpers import application, case_count, deliver, ingest, outbox_rows
from sqlalchemy import select
from test_cli import run

from intake.documents.samples import SampleMail
from store import repository as repo
from store.db import transaction
from store.models import Case
from store.words import OutboxState

ID = "mx.bl.dk"
AR = "authentication-results"


def verdict(*results: str, sender: str = "mette@kommune.dk", trusted: str | None = ID) -> str:
    from notifications.senderauth import check

    return check({AR: list(results)}, sender, trusted).auth


@pytest.mark.parametrize("results, expected", [
    ([f"{ID}; dmarc=pass header.from=kommune.dk"], "bekræftet"),
    ([f"{ID}; dmarc=fail header.from=kommune.dk; spf=pass smtp.mailfrom=kommune.dk"], "ikke bekræftet"),
    ([f"{ID}; spf=pass smtp.mailfrom=bounce@kommune.dk"], "bekræftet"),  # aligned, no DMARC verdict
    ([f"{ID}; dkim=pass header.d=kommune.dk"], "bekræftet"),
    ([f"{ID}; dkim=pass header.d=mail.kommune.dk"], "bekræftet"),  # relaxed alignment
    ([f"{ID}; dkim=pass header.d=mailchimp.example; spf=pass smtp.mailfrom=mailchimp.example"],
     "ikke bekræftet"),  # passed, but for someone else's domain
    ([f"{ID}; dkim=pass header.d=evilkommune.dk"], "ikke bekræftet"),  # not at a label boundary
    (["mx.evil.example; dmarc=pass header.from=kommune.dk"], "ikke bekræftet"),  # not our server
    ([f"{ID}; dmarc=fail header.from=kommune.dk", f"{ID}; dmarc=pass header.from=kommune.dk"],
     "ikke bekræftet"),  # the forged one below ours does not count
    ([f"{ID}; none"], "ikke bekræftet"),
    (["garbage ;;; ="], "ikke bekræftet"),
    ([], "ikke bekræftet"),
])
def test_only_our_servers_authentication_results_are_believed(results, expected):
    assert verdict(*results) == expected


def test_without_a_trusted_server_nothing_is_checked():
    assert verdict(f"{ID}; dmarc=fail", trusted=None) == "ikke tjekket"
    assert verdict(sender=None) == "ikke bekræftet"  # no single From address


def _forged(i: int, result: str, when: dt.datetime, domain: str = "kommune.dk") -> SampleMail:
    mail = application(f"f{i}", f"Borger {i} <borger{i}@{domain}>", when)
    header = f"Authentication-Results: {ID}; spf={result} smtp.mailfrom={domain}; dmarc={result} header.from={domain}\r\n"
    return SampleMail(mail.name, header.encode() + mail.raw, when)


def test_twenty_forged_senders_get_twenty_cases_and_no_mail(make_app, workdir, clock):
    app = make_app(f'[outbox]\ntrusted_authserv_id = "{ID}"\n')
    when = clock.now - dt.timedelta(minutes=5)
    deliver(workdir, *[_forged(i, "fail", when) for i in range(20)], _forged(99, "pass", when, "bolig.dk"))
    ingest(app)
    assert case_count(app) == 21
    rows = outbox_rows(app)
    assert [r.recipient for r in rows] == ["borger99@bolig.dk"]
    with app.context.factory() as s:
        cases = {c.sender: c for c in s.scalars(select(Case))}
        forged = [cases[f"borger{i}@kommune.dk"] for i in range(20)]
        assert {c.sender_auth for c in forged} == {"ikke bekræftet"}
        assert all("the sender is not verified: dmarc=fail for kommune.dk" in c.receipts_suppressed for c in forged)
        assert cases["borger99@bolig.dk"].sender_auth == "bekræftet"


def test_no_reminder_goes_to_a_sender_that_was_not_verified(make_app, workdir, clock):
    from intake.outbox import remind

    app = make_app(f'[outbox]\ntrusted_authserv_id = "{ID}"\n')
    clock.now = dt.datetime(2025, 7, 28, 8, 0, tzinfo=dt.UTC)
    deliver(workdir, _forged(1, "fail", clock.now - dt.timedelta(minutes=5)))
    ingest(app)
    with transaction(app.context.factory) as s:
        repo.get_case(s, "PSV-2025-0001").status = "mangler"
    planned = remind(app)
    assert [(p.case_id, p.state) for p in planned] == [
        ("PSV-2025-0001", "skipped: the sender is not verified (afsender ikke bekræftet)")]
    assert outbox_rows(app) == []


def test_per_domain_and_global_limits_hold_whatever_the_sender(make_app, workdir, clock):
    app = make_app("[outbox]\nmax_per_domain_per_hour = 3\nmax_per_hour = 5\n")
    when = clock.now - dt.timedelta(minutes=5)
    deliver(workdir, *[application(f"d{i}", f"A {i} <a{i}@samme.dk>", when) for i in range(4)],
            *[application(f"o{i}", f"B {i} <b@andet{i}.dk>", when) for i in range(4)])
    ingest(app)
    rows = outbox_rows(app)
    sent = [r.recipient for r in rows if r.state == OutboxState.PENDING]
    held = {r.recipient: r.last_error for r in rows if r.state == OutboxState.SUPPRESSED}
    assert sent == ["a0@samme.dk", "a1@samme.dk", "a2@samme.dk", "b@andet0.dk", "b@andet1.dk"]
    assert held["a3@samme.dk"].startswith("rate limit: samme.dk already has 3 mail(s)")
    assert held["b@andet3.dk"].startswith("rate limit: 5 mails to applicants in the last hour")


def test_check_says_when_receipts_rely_on_rate_limits_alone(workdir, db_url):
    from conftest import write_settings

    from intake.commands.checkup import senders_line
    from intake.settings import load_settings

    plain = write_settings(workdir, db_url)
    r = run("--config", str(plain), "check")
    assert r.returncode == 0 and "receipts rely on rate limits alone" in r.stdout
    trusted = load_settings(write_settings(workdir, db_url, f'[outbox]\ntrusted_authserv_id = "{ID}"\n'))
    assert senders_line(trusted).startswith(f"receipts and reminders only to senders that {ID} verified")
