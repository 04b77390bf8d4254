"""The pure rules of the outbox (who may get mail) and the Danish formatting of the templates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications import policy
from parsers.danish import date_da, datetime_da, kroner, number_da, timestamp_da

NOW = dt.datetime(2025, 7, 25, 12, 0, tzinfo=dt.UTC)
OWN = frozenset({"pulje@bl.dk"})


def decide(headers=None, recipient="mette@boligselskabet-nord.dk", arrived=NOW - dt.timedelta(minutes=5),
           sent=0, content_type="multipart/mixed"):
    return policy.receipt_decision(
        recipient=recipient, headers=headers or {}, content_type=content_type, own_addresses=OWN,
        arrived_at=arrived, now=NOW, max_age_hours=72, sent_last_hour=sent, max_per_hour=5,
    )


def test_a_person_writing_now_gets_a_receipt():
    assert decide() == policy.Decision(policy.SEND)


@pytest.mark.parametrize("headers, content_type", [
    ({"auto-submitted": ["auto-replied"]}, "text/plain"),
    ({"auto-submitted": ["auto-generated"]}, "text/plain"),
    ({"x-autoreply": ["yes"]}, "text/plain"),
    ({"x-autorespond": ["1"]}, "text/plain"),
    ({"x-failed-recipients": ["a@b.dk"]}, "text/plain"),
    ({"precedence": ["bulk"]}, "text/plain"),
    ({"precedence": ["list"]}, "text/plain"),
    ({"list-id": ["<nyhedsbrev.bl.dk>"]}, "text/plain"),
    ({"list-unsubscribe": ["<mailto:x@y.dk>"]}, "text/plain"),
    ({"return-path": ["<>"]}, "text/plain"),
    ({}, "multipart/report"),
])
def test_automatic_mail_never_gets_a_receipt(headers, content_type):
    d = decide(headers, content_type=content_type)
    assert d.action == policy.SKIP and d.reason


def test_auto_submitted_no_is_a_person():
    assert decide({"auto-submitted": ["no"]}).send


@pytest.mark.parametrize("address", [
    "noreply@portal.dk", "no-reply@portal.dk", "no_reply@x.dk", "NoReply@x.dk", "donotreply@x.dk",
    "do-not-reply@x.dk", "mailer-daemon@x.dk", "MAILER-DAEMON@x.dk", "postmaster@x.dk",
    "noreply+abc@x.dk", "bounces@x.dk",
])
def test_no_reply_senders_get_nothing(address):
    d = decide(recipient=address)
    assert d.action == policy.SKIP and "no-reply" in d.reason


@pytest.mark.parametrize("address", ["noreen@x.dk", "replyguy@x.dk", "postmasterbl@x.dk", "mette@x.dk"])
def test_ordinary_senders_are_not_mistaken_for_no_reply(address):
    assert not policy.is_no_reply(address)


def test_our_own_address_gets_nothing():
    d = decide(recipient="Pulje@BL.dk")
    assert d.action == policy.SKIP and "our own address" in d.reason


def test_missing_sender_gets_nothing():
    assert decide(recipient=None).action == policy.SKIP
    assert decide(recipient="not an address").action == policy.SKIP


def test_mail_older_than_the_limit_gets_no_receipt():
    assert decide(arrived=NOW - dt.timedelta(hours=71, minutes=59)).send
    d = decide(arrived=NOW - dt.timedelta(hours=73))
    assert d.action == policy.SKIP and "73 hours ago" in d.reason


def test_the_rate_limit_suppresses_with_a_reason():
    assert decide(sent=4).send
    d = decide(sent=5)
    assert d.action == policy.SUPPRESS and "limit 5" in d.reason


def test_danish_formats():
    assert kroner("1012497.75") == "1.012.497,75 kr."
    assert kroner("20000") == "20.000,00 kr."
    assert kroner("not money") == "not money"
    assert date_da(dt.date(2025, 8, 1)) == "1. august 2025"
    assert date_da("2026-01-01") == "1. januar 2026"
    assert number_da("1.50") == "1,5" and number_da("2") == "2"
    tz = ZoneInfo("Europe/Copenhagen")
    assert datetime_da(dt.datetime(2025, 8, 1, 21, 59, tzinfo=dt.UTC), tz) == "1. august 2025 kl. 23.59"
    assert datetime_da(dt.datetime(2025, 12, 1, 22, 59, tzinfo=dt.UTC), tz) == "1. december 2025 kl. 23.59"
    assert date_da(dt.date(2025, 8, 1), weekday=True) == "fredag 1. august 2025"
    assert timestamp_da(dt.datetime(2025, 7, 25, 12, 0, tzinfo=dt.UTC), tz) == "25.07.2025 kl. 14.00"
    assert kroner(None) == "" and date_da(None) == "" and timestamp_da(None, tz) == "-"
    assert kroner("0.005") == "0,01 kr."  # money rounds half up, never to even


def test_every_reason_the_policy_gives_has_danish_words_for_the_case_page():
    from store.work import no_receipt_da

    now = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
    reasons = [
        policy.automated_reason({"auto-submitted": ["auto-replied"]}),
        policy.automated_reason({"x-autoreply": ["yes"]}),
        policy.automated_reason({}, "multipart/report"),
        policy.automated_reason({"return-path": ["<>"]}),
        policy.automated_reason({"precedence": ["bulk"]}),
        policy.automated_reason({"list-id": ["<x.lists.example>"]}),
        policy.loop_reason({"x-loop": ["pulje@bl.dk"]}, ["pulje@bl.dk"]),
        policy.recipient_reason(None, []),
        policy.recipient_reason("pulje@bl.dk", ["pulje@bl.dk"]),
        policy.recipient_reason("noreply@kommune.dk", []),
        policy.rate_decision(5, 5, "a@b.dk").reason,
        policy.receipt_decision(recipient="a@b.dk", headers={}, content_type="", own_addresses=[],
                                arrived_at=now - dt.timedelta(days=30), now=now, max_age_hours=72,
                                sent_last_hour=0, max_per_hour=5).reason,
    ]
    assert all(reasons), reasons
    for reason in reasons:
        assert not no_receipt_da(f"no receipt: {reason}").startswith("Ingen kvittering: (årsag på engelsk)"), reason
