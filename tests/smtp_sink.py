"""A real SMTP server for tests (aiosmtpd on a free loopback port), as a pytest plugin.

Use with ``pytest_plugins = ["tests.smtp_sink"]`` (or ``smtp_sink`` when tests/
is on the path) and the ``smtp_sink`` fixture. The sink keeps every message it
accepted, can answer ``451`` (or any reply) for the next N messages, and can be
stopped and started again on the same port to simulate an outage.

With ``tokens`` (a function ``(user, token) -> bool``) the sink offers SMTP AUTH
XOAUTH2 and OAUTHBEARER and asks that function about every token, answering a
refused one as Microsoft and Google do: a ``334`` challenge with the error in
JSON, then ``535`` once the client sends its empty response.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    """One accepted message: envelope and parsed headers."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        """The message parsed with the modern policy."""
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        """The Message-ID header."""
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        """The decoded subject."""
        return str(self.message["Subject"])

    def text(self) -> str:
        """The plain-text body."""
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        """The HTML body."""
        return self.message.get_body(("html",)).get_content()


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.sink.lock:
            if self.sink.fail_next > 0:
                self.sink.fail_next -= 1
                self.sink.refused += 1
                return self.sink.fail_reply
            self.sink.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                               bytes(envelope.original_content or envelope.content)))
        return "250 2.0.0 OK: queued"


class _OAuthHandler(_Handler):
    """Also logs in by SASL XOAUTH2 and OAUTHBEARER (aiosmtpd finds ``auth_*`` on the handler)."""

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 - aiosmtpd's name
        return await self._bearer(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):  # noqa: N802 - aiosmtpd's name
        return await self._bearer(server, args, "OAUTHBEARER")

    async def _bearer(self, server, args, mechanism):
        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        if mechanism == "OAUTHBEARER":  # "n,a=user,\x01host=...\x01auth=Bearer t\x01\x01"
            user = blob.decode().split(",")[1][2:]
        else:  # "user=u\x01auth=Bearer t\x01\x01"
            user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        ok = self.sink.tokens is not None and self.sink.tokens(user, token)
        with self.sink.lock:
            self.sink.logins.append((mechanism, user, token, ok))
        if ok:
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An aiosmtpd server collecting messages; ``fail(n)`` makes the next n answer 451."""

    def __init__(self, port: int | None = None, tokens: Callable[[str, str], bool] | None = None):
        self.host = "127.0.0.1"
        self.tokens = tokens
        self.logins: list[tuple[str, str, str, bool]] = []  # (mechanism, user, token, accepted)
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.fail_next = 0
        self.fail_reply = "451 4.3.0 Try again later"
        self.refused = 0
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self.tokens is None:
            self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        else:  # AUTH over plain SMTP is fine on loopback
            self.controller = Controller(_OAuthHandler(self), hostname=self.host, port=self.port,
                                         auth_require_tls=False)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening; connections are refused until :meth:`start`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def fail(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages with ``reply`` instead of accepting them."""
        with self.lock:
            self.fail_next, self.fail_reply = times, reply

    def settings_toml(self, **outbox) -> str:
        """An ``[outbox]`` block sending to this sink."""
        extra = "".join(f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n'
                        for k, v in outbox.items())
        return (f'[outbox]\nmode = "smtp"\n{extra}\n[outbox.smtp]\nhost = "{self.host}"\n'
                f'port = {self.port}\nsecurity = "plain"\ntimeout_seconds = 10\n')

    def by_message_id(self) -> dict[str, int]:
        """How often each Message-ID arrived."""
        counts: dict[str, int] = {}
        for m in self.messages:
            counts[m.message_id] = counts.get(m.message_id, 0) + 1
        return counts


@pytest.fixture
def smtp_sink():
    """A running SMTP sink, stopped after the test."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()
