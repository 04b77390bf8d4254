"""The connection side of an IMAP source: login, errors, SELECT, IDLE, check, logout.

:class:`ImapConnection` holds one logged-in imapclient connection, made on first
use and dropped when broken, so the next call connects again. ``wait`` uses IDLE
on the first folder when the server offers it, and notices a server that died
mid-IDLE (imapclient's ``idle_check`` returns ``[]`` for a closed socket too).

The login is a password, or SASL XOAUTH2/OAUTHBEARER with an access token
(``intake.tokens``). A session lives no longer than its token: before the token
is due for renewal the connection logs out and in again with a new one
(Exchange Online ends a session whose token expired), and a refused token is
replaced by a freshly fetched one once before the login counts as refused.

Every IMAP or socket error leaves this module as a :class:`ConfigError` (the
operator must fix something: password, folder name) or a
:class:`TemporaryFailure` (the server is unreachable or dropped us), never as a
raw ``imaplib`` exception, so the command line and the service can decide.
What is fetched, and how it is acknowledged, is ``intake.sources.imap``.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError

from intake import tokens
from intake.errors import ConfigError, IntakeError, TemporaryFailure
from intake.settings import ImapSourceSettings

log = logging.getLogger(__name__)


def quiet_imaplib(client: IMAPClient) -> None:
    """Stop imaplib formatting every response for a debug log nobody reads.

    IMAPClient sets imaplib's ``debug`` to 5 and sends its messages to the logger
    ``imapclient.imaplib``; imaplib then builds ``repr()`` of every response, each
    mail's bytes included, twice, before the logger drops it: a third of the time
    of a fetch (bench/RESULTS.md), and a string several times a large mail's size.
    With that logger at DEBUG the messages are kept.
    """
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0

# How often a waiting IDLE looks at the stop signal (the brief: at least every second).
STOP_CHECK_SECONDS = 1.0


def _peer_closed(sock: socket.socket) -> bool:
    """True when the server has closed the TCP connection.

    imapclient's ``idle_check`` swallows EOF and returns ``[]``, so a dead server
    looks exactly like a quiet one. A readable socket whose next byte is "none"
    (a zero-length peek) has been closed by the other side. The peek goes to the
    TCP socket itself, under any TLS layer.
    """
    try:
        poller = select.poll()  # unlike select(), fine with descriptors above 1024
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except (OSError, ValueError):
        return True


class ImapConnection:
    """One IMAP account's connection: the part of a source that is not about which mail."""

    def __init__(self, cfg: ImapSourceSettings):
        self.cfg = cfg
        self.account = f"imap:{cfg.name}"
        self._client: IMAPClient | None = None
        self._selected: str | None = None
        self._permanent_flags: tuple[bytes, ...] = ()
        self._uidvalidity = 0  # of the selected folder, from its SELECT answer
        # the highest UID this connection has seen per folder, so that wait() can
        # tell whether mail arrived between the last fetch and the start of IDLE
        self._high_uid: dict[str, int] = {}
        # OAuth2: when the token this session logged in with is due for renewal (time.time())
        self._session_until: float | None = None

    # -- connection ---------------------------------------------------------------

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"{self.cfg.host}:{self.cfg.port}"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn imaplib/imapclient/socket errors into ConfigError or TemporaryFailure."""
        try:
            yield
        except IntakeError:
            raise
        except LoginError as exc:
            self._drop()
            raise ConfigError(
                f"source '{self.cfg.name}': {self.where} refused the {_method(self.cfg)}login of "
                f"{self.cfg.username!r}: {_text(exc)}{_hint(self.cfg)}"
            ) from None
        except CapabilityError as exc:
            raise ConfigError(f"source '{self.cfg.name}': {self.where}: {_text(exc)}") from None
        except IMAPClient.AbortError as exc:  # the connection is gone (EOF, reset)
            self._drop()
            raise TemporaryFailure(
                f"source '{self.cfg.name}': connection to {self.where} lost while {doing}: {_text(exc)}"
            ) from None
        except IMAPClientError as exc:  # a NO/BAD answer: the connection itself is usable
            raise TemporaryFailure(
                f"source '{self.cfg.name}': {self.where} failed {doing}: {_text(exc)}"
            ) from None
        except ssl.SSLCertVerificationError as exc:  # the operator must fix host name or CA
            self._drop()
            raise ConfigError(
                f"source '{self.cfg.name}': TLS certificate of {self.where} not accepted: {exc.verify_message}"
            ) from None
        except OSError as exc:  # refused, timed out, DNS, TLS handshake
            self._drop()
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or type(exc).__name__)
            raise TemporaryFailure(
                f"source '{self.cfg.name}': {self.where} unreachable while {doing}: {reason}"
            ) from None

    def _connect(self) -> IMAPClient:
        """The logged-in connection, made on first use (and again when its token is due)."""
        if self._client is not None:
            if self._session_until is None or time.time() < self._session_until:
                return self._client
            log.info("%s: the session's access token is due for renewal; logging in again", self.account)
            self.close()
        cfg = self.cfg
        # ConfigError/TemporaryFailure before any connection if the password or token cannot be had
        password = cfg.password() if cfg.auth == "password" else None
        provider = tokens.provider_for(cfg.oauth2, cfg.username) if cfg.oauth2 is not None else None
        token = provider.get(self.owner) if provider is not None else None
        context = ssl.create_default_context() if cfg.security in ("tls", "starttls") else None
        with self._errors("connecting"):
            client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.security == "tls",
                                ssl_context=context, timeout=cfg.timeout_seconds)
            try:
                # aware datetimes with the server's offset: we convert to UTC ourselves
                client.normalise_times = False
                quiet_imaplib(client)
                if cfg.security == "starttls":
                    client.starttls(context)
                if provider is None or token is None:
                    client.login(cfg.username, password)
                    self._session_until = None
                else:
                    self._session_until = self._token_login(client, provider, token)
                # a half-open connection (server gone without FIN) is noticed by the kernel
                client.socket().setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            except BaseException:
                _shutdown_quietly(client)
                raise
        self._client = client
        self._selected = None
        log.debug("%s: logged in to %s as %s", self.account, self.where, cfg.username)
        return client

    @property
    def owner(self) -> str:
        """``source '<name>'`` for messages."""
        return f"source '{self.cfg.name}'"

    def _token_login(self, client: IMAPClient, provider: tokens.TokenProvider, token: tokens.Token) -> float:
        """SASL login with ``token``; once more with a new token if refused. Return when to renew."""
        try:
            self._sasl(client, token)
        except LoginError as exc:
            log.info("%s: %s refused the access token (%s); trying a new one",
                     self.account, self.where, _text(exc))
            token = provider.get(self.owner, fresh=True)
            self._sasl(client, token)
        return provider.renew_at(token)

    def _sasl(self, client: IMAPClient, token: tokens.Token) -> None:
        if self.cfg.auth == "oauthbearer":
            client.oauthbearer_login(self.cfg.username, token.value)
        else:
            client.oauth2_login(self.cfg.username, token.value)

    def _drop(self) -> None:
        """Forget a broken connection; the next call connects again."""
        if self._client is not None:
            _shutdown_quietly(self._client)
        self._client = None
        self._selected = None

    def _select(self, folder: str) -> dict[bytes, Any]:
        """SELECT ``folder`` read-write (flags and moves need it); return the SELECT answer."""
        client = self._connect()
        try:
            info = client.select_folder(folder)
        except IMAPClient.AbortError:
            raise
        except IMAPClientError as exc:
            raise ConfigError(
                f"source '{self.cfg.name}': cannot open folder {folder!r} on {self.where}: {_text(exc)}"
            ) from None
        self._selected = folder
        self._permanent_flags = tuple(info.get(b"PERMANENTFLAGS", ()))
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        return dict(info)

    def _ensure_selected(self, folder: str) -> IMAPClient:
        if self._client is None or self._selected != folder:
            self._select(folder)
        assert self._client is not None
        return self._client

    def _check_keyword_allowed(self, folder: str) -> None:
        # without \* (or the keyword itself) in PERMANENTFLAGS the STORE would be
        # accepted for the session only, and the mail fetched again after every restart
        kw = self.cfg.ack_keyword.encode()
        if b"\\*" not in self._permanent_flags and kw not in self._permanent_flags:
            raise ConfigError(
                f"source '{self.cfg.name}': folder {folder!r} on {self.where} does not keep the "
                f"keyword {self.cfg.ack_keyword}; use ack = \"move\""
            )

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Return when the first folder may have new mail, ``timeout`` passed, or ``stop`` is set.

        With IDLE (enabled and offered) the server pushes new mail; the IDLE is
        re-issued every ``idle_renew_seconds`` (servers may drop one after 30
        minutes). A connection found dead raises TemporaryFailure so the service
        reconnects. Without IDLE this simply sleeps.
        """
        if not self.cfg.idle:
            stop.wait(timeout)
            return
        folder = self.cfg.folders[0]
        with self._errors(f"waiting (IDLE) on {folder!r}"):
            client = self._connect()
            if self._session_until is not None:  # back in time to log in with a new token
                timeout = min(timeout, max(self._session_until - time.time(), 0.0))
            if not client.has_capability("IDLE"):
                stop.wait(timeout)
                return
            self._ensure_selected(folder)
            if self._arrived_since_fetch(client, folder):
                return
            end = time.monotonic() + timeout
            while not stop.is_set() and time.monotonic() < end:
                until = min(end, time.monotonic() + self.cfg.idle_renew_seconds)
                if self._idle_until(client, stop, until):
                    return

    def _arrived_since_fetch(self, client: IMAPClient, folder: str) -> bool:
        # mail that arrived after the last SEARCH was announced (EXISTS) in answers
        # imapclient throws away; IDLE would not repeat it, so look once before idling
        high = self._high_uid.get(folder)
        if high is None:
            return False
        return any(u > high for u in client.search(["UID", f"{high + 1}:*"]))

    def _idle_until(self, client: IMAPClient, stop: threading.Event, until: float) -> bool:
        """One IDLE command until ``until`` (monotonic); True if the server announced mail."""
        client.idle()
        woke = False
        try:
            while not stop.is_set():
                left = until - time.monotonic()
                if left <= 0:
                    break
                responses = client.idle_check(timeout=min(STOP_CHECK_SECONDS, left))
                if any(_announces_mail(r) for r in responses):
                    woke = True
                    break
                if any(_is_bye(r) for r in responses) or (not responses and _peer_closed(client.socket())):
                    self._drop()
                    raise TemporaryFailure(
                        f"source '{self.cfg.name}': {self.where} closed the connection during IDLE"
                    )
        except BaseException:
            if self._client is not None:  # leave IDLE so the connection stays usable
                try:
                    client.idle_done()
                except Exception:
                    self._drop()
            raise
        # only idle_done() notices a dead server that idle_check() missed: it raises
        _, late = client.idle_done()
        return woke or any(_announces_mail(r) for r in late)

    def check(self) -> str:
        """Log in and open every folder; a one-line summary, or ConfigError/TemporaryFailure."""
        try:
            counts = []
            for folder in self.cfg.folders:
                with self._errors(f"selecting {folder!r}"):
                    info = self._select(folder)
                    if self.cfg.ack == "keyword":
                        self._check_keyword_allowed(folder)
                counts.append(f"{folder}: {int(info.get(b'EXISTS', 0))} messages")
            if self.cfg.ack == "move":
                with self._errors(f"looking for {self.cfg.move_to!r}"):
                    assert self._client is not None
                    if not self._client.folder_exists(self.cfg.move_to):
                        raise ConfigError(
                            f"source '{self.cfg.name}': move_to folder {self.cfg.move_to!r} "
                            f"does not exist on {self.where}"
                        )
                counts.append(f"acknowledged mail moves to {self.cfg.move_to}")
            else:
                counts.append(f"acknowledged mail gets {self.cfg.ack_keyword}")
            return f"imap {self.where} login ok, " + ", ".join(counts)
        finally:
            self.close()

    def check_token(self) -> str | None:
        """For ``check``: fetch the access token (None for a password login); a one-line summary."""
        if self.cfg.oauth2 is None:
            return None
        provider = tokens.provider_for(self.cfg.oauth2, self.cfg.username)
        token = provider.get(self.owner)
        left = int(token.expires_at - time.time()) // 60
        return f"{self.cfg.auth.upper()} token for {self.cfg.username} from {provider.describe()}, valid for {left} min"

    def close(self) -> None:
        """Log out; errors are ignored (the connection may already be gone)."""
        client, self._client, self._selected = self._client, None, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            _shutdown_quietly(client)


def _announces_mail(response: tuple[Any, ...]) -> bool:
    # (3, b'EXISTS') or (1, b'RECENT'); EXPUNGE and FETCH (flag changes) are not new mail
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT") and response[0] != 0


def _is_bye(response: tuple[Any, ...]) -> bool:
    return bool(response) and response[0] == b"BYE"


def _method(cfg: ImapSourceSettings) -> str:
    """``"XOAUTH2 "`` for a token login, nothing for a password (the message reads as before)."""
    return "" if cfg.auth == "password" else f"{cfg.auth.upper()} "


def _hint(cfg: ImapSourceSettings) -> str:
    """What to look at when Exchange Online refuses an app's token."""
    if cfg.oauth2 is None or cfg.oauth2.provider != "entra":
        return ""
    return (" (the token was not accepted: check the app's IMAP.AccessAsApp permission and admin consent, "
            "and that its service principal has access to this mailbox)")


def _text(exc: BaseException) -> str:
    """An imaplib error's message as one clean line."""
    msg = exc.args[0] if exc.args else str(exc)
    if isinstance(msg, str) and msg[:2] in ("b'", 'b"') and msg[-1:] == msg[1]:
        msg = msg[2:-1]  # imapclient's LoginError carries str(bytes): "b'[AUTH...] ...'"
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return " ".join(str(msg).split()) or type(exc).__name__


def _shutdown_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:
        log.debug("closing an IMAP connection failed", exc_info=True)
