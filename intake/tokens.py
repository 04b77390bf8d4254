"""OAuth2 access tokens for the IMAP and SMTP logins: Entra ID, a Google service account, or a command.

A :class:`TokenProvider` hands out a cached token and fetches a new one when the
old one is close to its expiry (``renew_before_seconds``, at most a quarter of
its life), or when a server refused it. One provider per set-up is shared by
every login that uses it (the IMAP threads of the service and the outbox
drain), so a token is fetched once, not once per connection.

Errors leave as :class:`ConfigError` (the set-up is wrong: a bad client secret,
an unknown tenant, a command that does not exist; exit 1) or
:class:`TemporaryFailure` (the token service cannot be reached; exit 75).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from intake.errors import ConfigError, TemporaryFailure
from intake.secrets import ENTRA_AUTHORITY, OAuth2Settings

log = logging.getLogger(__name__)

# a bearer token goes into a SASL string: printable ASCII without spaces (RFC 6750 b64token, and more)
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Token:
    """An access token and its lifetime (``time.time()`` seconds)."""

    value: str
    obtained_at: float
    expires_at: float

    def renew_at(self, before: float) -> float:
        """When to fetch the next one: ``before`` seconds ahead of expiry, at most a quarter of its life."""
        life = max(self.expires_at - self.obtained_at, 0.0)
        return self.expires_at - min(before, life / 4)


class TokenProvider:
    """Access tokens of one OAuth2 set-up for one mailbox (see the module docstring)."""

    def __init__(self, cfg: OAuth2Settings, username: str):
        self.cfg = cfg
        self.username = username
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.clock: Callable[[], float] = time.time  # tests move it by hand

    def describe(self) -> str:
        """Where the tokens come from, for ``check`` and the log."""
        cfg = self.cfg
        if cfg.provider == "entra":
            return f"Entra ID (tenant {cfg.tenant_id}, client {cfg.client_id})"
        if cfg.provider == "google":
            return f"Google service account acting as {cfg.subject or self.username}"
        return f"token command {cfg.command[0]}"

    def get(self, owner: str, fresh: bool = False) -> Token:
        """A token valid for a while yet; ``fresh`` fetches a new one (the last one was refused)."""
        with self._lock:
            now = self.clock()
            token = self._token
            if fresh or token is None or now >= token.renew_at(self.cfg.renew_before_seconds):
                token = self._fetch(owner, now)
                self._token = token
                log.info("%s: new access token from %s, valid for %d min", owner, self.describe(),
                         max(0, int(token.expires_at - now) // 60))
            return token

    def renew_at(self, token: Token) -> float:
        """When ``token`` is due for renewal (a session logged in with it should log in again)."""
        return token.renew_at(self.cfg.renew_before_seconds)

    def _fetch(self, owner: str, now: float) -> Token:
        fetch = {"entra": self._entra, "google": self._google, "command": self._command}[self.cfg.provider]
        value, lifetime = fetch(owner)
        if not _TOKEN_RE.fullmatch(value):
            raise ConfigError(f"{owner}: {self.describe()} gave something that is not an access token")
        return Token(value=value, obtained_at=now, expires_at=now + max(lifetime, 1.0))

    def _entra(self, owner: str) -> tuple[str, float]:
        """Client credentials from Entra ID with MSAL."""
        import msal
        import msal.exceptions
        import requests

        cfg = self.cfg
        secret = cfg.client_secret.require(owner)
        where = f"{owner}: Entra ID ({cfg.authority})"
        try:
            # A new application object each time: MSAL's own cache would hand back the
            # token we are replacing (it keeps one until five minutes before expiry).
            app = msal.ConfidentialClientApplication(
                cfg.client_id, client_credential=secret, authority=f"{cfg.authority}/{cfg.tenant_id}",
                # Microsoft's own host needs no discovery; any other (a national cloud) is the operator's choice
                instance_discovery=None if cfg.authority == ENTRA_AUTHORITY else False,
            )
            result: dict[str, Any] = app.acquire_token_for_client(scopes=[cfg.scope])
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:  # no answer, or a 5xx
            raise TemporaryFailure(f"{where} unreachable: {_first_line(exc)}") from None
        except ValueError as exc:  # MSAL: an unknown tenant or a malformed authority
            raise ConfigError(f"{where}: {_first_line(exc)}") from None
        if "access_token" in result:
            return str(result["access_token"]), float(result.get("expires_in") or 3600)
        error = str(result.get("error") or "error")
        text = f"{where} refused client {cfg.client_id}: {error}: {_first_line(result.get('error_description'))}"
        if error in ("temporarily_unavailable", "server_error"):
            raise TemporaryFailure(text)
        raise ConfigError(text)

    def _google(self, owner: str) -> tuple[str, float]:
        """A service account's token for the mailbox, by domain-wide delegation (google-auth)."""
        import google.auth.exceptions
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        cfg = self.cfg
        where = f"{owner}: Google service account"
        try:
            info = json.loads(cfg.service_account.require(owner))
            creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[cfg.scope], subject=cfg.subject or self.username)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{where}: not a service account key: {_first_line(exc)}") from None
        try:
            creds.refresh(Request())
        except google.auth.exceptions.TransportError as exc:
            raise TemporaryFailure(f"{where}: token service unreachable: {_first_line(exc)}") from None
        except google.auth.exceptions.RefreshError as exc:
            kind = TemporaryFailure if getattr(exc, "retryable", False) else ConfigError
            raise kind(f"{where}: token refused: {_first_line(exc)}") from None
        if creds.expiry is not None:  # naive UTC in google-auth
            lifetime = creds.expiry.replace(tzinfo=dt.UTC).timestamp() - self.clock()
        else:
            lifetime = 3600.0
        return str(creds.token), lifetime

    def _command(self, owner: str) -> tuple[str, float]:
        """Whatever the operator's program prints: a token, or JSON with ``access_token``/``expires_in``.

        Exit status 75 (EX_TEMPFAIL) means "try later"; any other failure is for the operator to fix.
        """
        cfg = self.cfg
        where = f"{owner}: token command {cfg.command[0]!r}"
        try:
            proc = subprocess.run(list(cfg.command), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                  timeout=cfg.command_timeout_seconds, check=False)
        except subprocess.TimeoutExpired:
            raise TemporaryFailure(f"{where} did not finish within {cfg.command_timeout_seconds:g} s") from None
        except OSError as exc:
            raise ConfigError(f"{where} cannot be run: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            said = _first_line(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
            kind = TemporaryFailure if proc.returncode == 75 else ConfigError
            raise kind(f"{where} failed with exit status {proc.returncode}" + (f": {said}" if said else ""))
        out = proc.stdout.strip()
        if out.startswith("{"):
            try:
                data = json.loads(out)
                value = str(data["access_token"])
                lifetime = float(data.get("expires_in") or cfg.lifetime_seconds)
            except (ValueError, KeyError, TypeError):
                raise ConfigError(f"{where} printed JSON without an access_token") from None
            return value, lifetime
        if not out or "\n" in out:
            raise ConfigError(f"{where} must print one line: the access token")
        return out, cfg.lifetime_seconds


def _first_line(value: object) -> str:
    text = str(value or "").strip()
    return " ".join(text.splitlines()[0].split()) if text else "no details"


_providers: dict[tuple[OAuth2Settings, str], TokenProvider] = {}
_providers_lock = threading.Lock()


def provider_for(cfg: OAuth2Settings, username: str) -> TokenProvider:
    """The shared provider for this set-up and mailbox (IMAP and SMTP with one app share one token)."""
    with _providers_lock:
        provider = _providers.get((cfg, username))
        if provider is None:
            provider = _providers[(cfg, username)] = TokenProvider(cfg, username)
        return provider
