"""Delivering one stored mail: over SMTP, or as a ``.eml`` file (the embedded default).

A sender's ``send(row)`` returns when the mail is accepted and otherwise raises
one of three errors, which the drainer turns into what happens next:

* :class:`Unreachable` — no server, refused login, connection dropped: nothing
  is wrong with the mail; the pass stops and the mail waits (never ``failed``);
* :class:`TemporaryError` — a 4xx answer: retry later with backoff;
* :class:`PermanentError` — a 5xx answer: the row is ``failed`` with the answer.

The login is a password (``AUTH PLAIN/LOGIN``) or SASL XOAUTH2/OAUTHBEARER with
an access token from a callable the worker passes in (``token(fresh)``); a
refused token is replaced by a fresh one once before the login counts as refused.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from store.files import write_private
from store.models import OutboxMessage


class DeliveryError(Exception):
    """Base of the errors a sender raises."""


class Unreachable(DeliveryError):
    """The server cannot be used right now (connection, TLS or login)."""


class LoginRefused(Unreachable):
    """The server refused our login: the settings must change, retrying will not help."""


class TemporaryError(DeliveryError):
    """The server said 4xx for this mail."""


class PermanentError(DeliveryError):
    """The server said 5xx for this mail."""


@dataclass(frozen=True)
class SmtpConfig:
    """Plain SMTP settings (the worker reads the password and passes it in)."""

    host: str
    port: int
    security: str = "starttls"  # plain | starttls | tls
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30.0
    envelope_from: str = ""
    auth: str = "password"  # password | xoauth2 | oauthbearer
    # for xoauth2/oauthbearer: an access token; ``token(True)`` fetches a new one
    token: Callable[[bool], str] | None = None


def sasl_xoauth2(user: str, token: str) -> str:
    """The initial response of SASL XOAUTH2 (Google's and Microsoft's mechanism)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def sasl_oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """The initial response of SASL OAUTHBEARER (RFC 7628)."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _classify(code: int, text: bytes | str) -> DeliveryError:
    if 400 <= code < 500:
        return TemporaryError(_answer(code, text))
    if code >= 500:
        return PermanentError(_answer(code, text))
    return TemporaryError(f"unexpected answer {_answer(code, text)}")


class Sender(Protocol):
    """What the drainer needs of a way to deliver mail."""

    def send(self, row: OutboxMessage, case_id: str | None = None) -> None:
        """Deliver one mail, or raise Unreachable, TemporaryError or PermanentError."""

    def close(self) -> None:
        """Release what the sender holds."""


class SmtpSender:
    """Sends stored mails over one SMTP connection, opened on first use and reopened after a drop."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        conn: smtplib.SMTP
        try:
            if cfg.security == "tls":
                conn = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds,
                                        context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            conn.ehlo()
            if cfg.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if cfg.auth != "password":
                self._token_login(conn)
            elif cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise LoginRefused(f"SMTP login refused: {_answer(exc.smtp_code, exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"SMTP {cfg.host}:{cfg.port} unreachable: {exc}") from None
        return conn

    def _token_login(self, conn: smtplib.SMTP) -> None:
        """AUTH XOAUTH2/OAUTHBEARER; a refused token is replaced by a new one once."""
        cfg = self.config
        if cfg.token is None or not cfg.username:
            raise LoginRefused(f"SMTP login by {cfg.auth} needs a username and a token")
        user = cfg.username

        def initial(token: str) -> Callable[..., str]:
            response = (sasl_oauthbearer(user, token, cfg.host, cfg.port) if cfg.auth == "oauthbearer"
                        else sasl_xoauth2(user, token))
            # the server answers a refused token with a 334 challenge (an error in JSON):
            # an empty response ends the exchange, and the server says 535
            return lambda challenge=None: response if challenge is None else ""

        try:
            conn.auth(cfg.auth.upper(), initial(cfg.token(False)))
        except smtplib.SMTPAuthenticationError:
            conn.auth(cfg.auth.upper(), initial(cfg.token(True)))

    def check(self) -> str:
        """Connect (TLS, login as configured) and hang up; raise Unreachable or LoginRefused."""
        self._connect().quit()
        return f"{self.config.host}:{self.config.port} answers"

    def send(self, row: OutboxMessage, case_id: str | None = None) -> None:
        """Hand one mail to the server; return only when it accepted it."""
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._conn.sendmail(self.config.envelope_from, [row.recipient], row.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            if code == 421:
                self._drop()
                raise Unreachable(_answer(code, text)) from None
            raise _classify(code, text) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            if exc.smtp_code == 421:
                self._drop()
                raise Unreachable(_answer(exc.smtp_code, exc.smtp_error)) from None
            raise _classify(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:  # dropped mid-way: the mail may or may not be in
            self._drop()
            raise Unreachable(f"SMTP connection lost: {exc}") from None
        if refused:  # one recipient only, so this is not reached; kept for safety
            code, text = next(iter(refused.values()))
            raise _classify(code, text)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """Say QUIT if we can, and forget the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


class FileSender:
    """Writes each mail as ``<dir>/<case-id>-<purpose>-<row id>.eml`` (the embedded default).

    Writing the same row again replaces its file, so a retry after a crash
    leaves exactly one file per mail.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, row: OutboxMessage, case_id: str | None) -> Path:
        """Where a row's file goes."""
        return self.directory / f"{case_id or 'no-case'}-{row.purpose}-{row.id}.eml"

    def send(self, row: OutboxMessage, case_id: str | None = None) -> None:
        """Write the mail's bytes atomically (temporary file, then rename)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.path_for(row, case_id)
            tmp = target.with_suffix(".eml.tmp")
            write_private(tmp, row.raw)  # a mail to an applicant: 0640, whatever the umask
            os.replace(tmp, target)
        except OSError as exc:
            raise Unreachable(f"cannot write {self.directory}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Nothing to close."""
