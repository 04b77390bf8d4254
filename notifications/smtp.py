"""Delivering one stored mail: over SMTP, or as a ``.eml`` file (the embedded default).

A sender's ``send(row)`` returns when the mail is accepted and otherwise raises
one of three errors, which the drainer turns into what happens next:

* :class:`Unreachable` — no server, refused login, connection dropped: nothing
  is wrong with the mail; the pass stops and the mail waits (never ``failed``);
* :class:`TemporaryError` — a 4xx answer: retry later with backoff;
* :class:`PermanentError` — a 5xx answer: the row is ``failed`` with the answer.
"""

from __future__ import annotations

import os
import smtplib
import ssl
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
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise LoginRefused(f"SMTP login refused: {_answer(exc.smtp_code, exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"SMTP {cfg.host}:{cfg.port} unreachable: {exc}") from None
        return conn

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
