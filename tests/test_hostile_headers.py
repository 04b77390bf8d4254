"""Issue #9: mail in is measured before it is parsed and its addresses parsed before they are
decoded; mail out carries no header made from a sender's bytes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import hostile
import pytest

from notifications.render import Sender, build_message
from parsers.mime import parse_mail

US = Sender("pulje@bl.dk", "Pulje til sociale viceværter", "pulje@bl.dk")
NOW = dt.datetime(2025, 7, 25, 12, 0, tzinfo=dt.UTC)


def mail_from(value: bytes, extra: bytes = b"") -> bytes:
    return b"From: " + value + b"\r\nTo: pulje@bl.dk\r\nSubject: hej\r\n" + extra + b"\r\nbody\r\n"


@pytest.mark.parametrize("header, address, name, problem", [
    # "Efternavn, Fornavn" as Outlook writes it: the encoded comma is text, not a separator
    (b"=?iso-8859-1?Q?S=F8rensen=2C_Mette?= <mette@kommune.dk>", "mette@kommune.dk", "Sørensen, Mette", None),
    # an encoded display name cannot supply the address
    (b"=?utf-8?q?victim=40example.com_=3Cvictim=40example.com=3E?= <real@kommune.dk>", "real@kommune.dk",
     "victim@example.com <victim@example.com>", None),
    # nor hide our own address in an encoded word
    (b"=?utf-8?q?pulje=40bl.dk?=", None, None, "the From address cannot be read as a plain address"),
    (b"a@kommune.dk, b@kommune.dk", None, None, "the From header names 2 addresses"),
    (b"undisclosed-recipients:;", None, None, "the From header names no address"),
    (b"alice@example.org)<bob@example.org>", None, None, "the From address cannot be read as a plain address"),
    (b"Mette Hansen <mette@kommune.dk> <evil@example.com>", None, None,
     "the From address cannot be read as a plain address"),
    (b'"Hansen, Mette" <Mette@Kommune.dk>', "mette@kommune.dk", "Hansen, Mette", None),
    (b"mette@kommune.dk (Mette Hansen)", "mette@kommune.dk", "Mette Hansen", None),
    (b"=?utf-8?q?Mette=0D=0AHansen?= <mette@kommune.dk>", "mette@kommune.dk", "Mette Hansen", None),
])
def test_addresses_are_parsed_then_only_the_display_name_decoded(header, address, name, problem):
    mail = parse_mail(mail_from(header))
    assert (mail.from_addr, mail.from_name, mail.sender_problem) == (address, name, problem)


def test_mime_shape_is_measured_before_the_parser_builds_it():
    deep = parse_mail(hostile.nested_mime(5000))
    assert [f["code"] for f in deep.findings] == ["mail_too_deep"] and deep.attachments == []
    assert deep.subject == "Ansøgning – Pulje til sociale viceværter" and deep.from_addr == "mette@boligselskabet-nord.dk"
    many = parse_mail(hostile.many_attachments(10_000))
    assert [(f["code"], f["params"]) for f in many.findings] == [("mail_too_many_parts", {"max_parts": 1000})]
    head = parse_mail(hostile.big_header(5 << 20))
    assert [(f["code"], f["params"]) for f in head.findings] == [
        ("mail_header_too_large", {"size": "5 MB", "limit": "256 kB"})]
    assert head.subject == "Ansøgning – Pulje til sociale viceværter"
    subject = parse_mail(hostile.big_subject(1 << 20))
    assert len(subject.subject) == 1000 and subject.subject.startswith("Ansøgning – Pulje til sociale viceværter")


def test_a_parameter_header_the_stdlib_reads_in_quadratic_time_is_refused_first():
    # 200,000 ";" inside a quoted filename take the standard library minutes to split
    raw = (b'From: a@b.dk\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           b'Content-Disposition: attachment; filename="' + b";" * 200_000 + b'"\r\n\r\nx\r\n--b--\r\n')
    mail = parse_mail(raw)
    assert [(f["code"], f["params"]["limit"]) for f in mail.findings] == [("mail_header_too_large", "8 kB")]
    assert mail.attachments == [] and mail.from_addr == "a@b.dk"


def test_within_the_limits_nothing_changes():
    fine = parse_mail(hostile.many_attachments(200))
    assert fine.findings == [] and len(fine.attachments) == 200
    assert parse_mail(hostile.nested_mime(15)).findings == []
    from parsers.limits import SizeLimits

    tight = SizeLimits(max_mime_parts=100, max_mime_depth=5)
    assert [f["code"] for f in parse_mail(hostile.many_attachments(200), tight).findings] == ["mail_too_many_parts"]
    assert [f["code"] for f in parse_mail(hostile.nested_mime(15), tight).findings] == ["mail_too_deep"]


def test_message_ids_we_will_repeat_are_printable_and_few():
    refs = b" ".join(b"<id%d@example.com>" % i for i in range(500))
    mail = parse_mail(mail_from(b"a@b.dk", b"References: " + refs + b" <bad\x01id@x>\r\nIn-Reply-To: <a\x0bb@x>\r\n"))
    assert len(mail.references) == 50 and mail.references[0] == "<id0@example.com>"
    assert mail.references[-1] == "<id499@example.com>" and mail.in_reply_to == []


HOSTILE = "Ansøgning =?utf-8?q?=0D=0ABcc:_victim=40example.com?=\r\nBcc: victim@example.com\x00\u2028\u202e"


def test_every_header_we_write_is_free_of_the_senders_control_characters():
    rendered = build_message(sender=US, to_addr="mette@kommune.dk", to_name=HOSTILE, subject=HOSTILE,
                             text="x", html="<p>x</p>", now=NOW, auto_submitted="auto-replied",
                             in_reply_to="<a\r\nBcc: x@y>", references=["<ok@x>", "<bad\x00@x>", "<\r\n@x>"])
    head = rendered.raw.split(b"\r\n\r\n", 1)[0]
    names = sorted(line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t"))
    assert names == sorted([b"from", b"to", b"reply-to", b"subject", b"date", b"message-id", b"references",
                            b"auto-submitted", b"x-auto-response-suppress", b"mime-version", b"content-type"])
    msg = email.message_from_bytes(rendered.raw, policy=email.policy.default)
    for key, value in msg.items():
        assert not any(ch in str(value) for ch in "\r\n\x00\u2028\u202e"), key
        assert "=?" not in str(value) or key.lower() != "subject"
    assert msg["Subject"] == "Ansøgning = ?utf-8?q?=0D=0ABcc:_victim=40example.com?= Bcc: victim@example.com"
    assert msg["To"].addresses[0].addr_spec == "mette@kommune.dk"
    assert msg["References"] == "<ok@x>"


def test_an_address_that_is_no_plain_address_gets_no_mail():
    from notifications.render import UnsafeHeader

    for bad in ("mette@kommune.dk\r\nBcc: victim@example.com", "a@b", "<a@b.dk>", ""):
        with pytest.raises(UnsafeHeader):
            build_message(sender=US, to_addr=bad, to_name=None, subject="s", text="x", html="x", now=NOW,
                          auto_submitted="auto-replied")


def test_header_text_cuts_and_cleans():
    from notifications.render import header_text

    assert header_text("a\tb\r\nc\x1bd\u00ade", 80) == "a b c de"
    assert header_text("x" * 100, 10) == "x" * 9 + "…"
    assert header_text("=?utf-8?b?QmNjOiB4?=") == "= ?utf-8?b?QmNjOiB4?="
