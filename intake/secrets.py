"""Secrets, and the settings that lead to them: never in the TOML itself.

A secret (a password, a client secret, a service-account key) is named in the
settings by an environment variable (``*_env``) or a file (``*_file``). A file
may sit in systemd's credentials folder: ``"${CREDENTIALS_DIRECTORY}/imap-password"``
is read from the folder systemd's ``LoadCredential=`` fills for the service, so
the secret file itself can stay readable by root only. Outside the service (an
operator's command) the variable names the folder the credentials are kept in.

OAuth2 (``auth = "xoauth2"`` or ``"oauthbearer"``) takes an access token instead
of a password; :class:`OAuth2Settings` says where the token comes from, and
``intake.tokens`` gets it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from intake.errors import ConfigError

CREDENTIALS_VAR = "CREDENTIALS_DIRECTORY"
_PREFIXES = ("${" + CREDENTIALS_VAR + "}/", "$" + CREDENTIALS_VAR + "/")

#: How a mailbox or the SMTP server is logged in to.
AUTH_METHODS = ("password", "xoauth2", "oauthbearer")
#: Where an OAuth2 access token comes from.
PROVIDERS = ("entra", "google", "command")

ENTRA_AUTHORITY = "https://login.microsoftonline.com"
# Exchange Online's resource; ".default" asks for the application permissions the
# admin consented to (IMAP.AccessAsApp, SMTP.SendAsApp)
ENTRA_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"


def in_credentials_dir(value: str) -> bool:
    """True when a ``*_file`` value starts with ``${CREDENTIALS_DIRECTORY}/``."""
    return value.startswith(_PREFIXES)


def resolve_file(path: Path, owner: str, key: str) -> Path:
    """The real path of a ``*_file`` setting, with ``${CREDENTIALS_DIRECTORY}`` filled in."""
    text = str(path)
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            folder = os.environ.get(CREDENTIALS_VAR)
            if not folder:
                raise ConfigError(
                    f"{owner}: {key} is in ${{{CREDENTIALS_VAR}}}, which systemd sets for the service "
                    f"(LoadCredential=); outside it set {CREDENTIALS_VAR} to the folder that holds the "
                    "credentials (the README's operator section: /etc/pulje-intake/credentials)"
                )
            return Path(folder) / text[len(prefix):]
    return path


@dataclass(frozen=True)
class SecretRef:
    """Where one secret is: an environment variable, or a file (see the module docstring)."""

    env: str | None = None
    file: Path | None = None
    key: str = "password"  # the settings key, for messages: password, client_secret, ...

    @property
    def configured(self) -> bool:
        """True when the settings name a variable or a file."""
        return bool(self.env or self.file)

    def read(self, owner: str) -> str | None:
        """The secret, stripped; None when neither variable nor file is configured."""
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"{owner}: environment variable {self.env} ({self.key}_env) is not set")
            return value
        if self.file:
            path = resolve_file(self.file, owner, f"{self.key}_file")
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{owner}: cannot read {self.key}_file {path}: {exc.strerror}") from None
        return None

    def require(self, owner: str) -> str:
        """The secret; ConfigError when none is configured."""
        value = self.read(owner)
        if value is None:
            raise ConfigError(f"{owner}: set {self.key}_env or {self.key}_file")
        return value


@dataclass(frozen=True)
class OAuth2Settings:
    """Where the access tokens of one login come from (``[sources.oauth2]``, ``[outbox.smtp.oauth2]``).

    ``entra``: Microsoft Entra ID's client-credentials flow (an app registration
    with ``IMAP.AccessAsApp`` / ``SMTP.SendAsApp``, app-only access to one mailbox).
    ``google``: a Google service account with domain-wide delegation, acting as
    ``subject`` (the mailbox). ``command``: any program that prints a token
    (or JSON with ``access_token`` and ``expires_in``).
    """

    provider: str
    scope: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretRef = SecretRef(key="client_secret")
    authority: str = ENTRA_AUTHORITY
    service_account: SecretRef = SecretRef(key="service_account")
    subject: str | None = None
    command: tuple[str, ...] = ()
    command_timeout_seconds: float = 30.0
    # a command that prints a bare token does not say how long it lives
    lifetime_seconds: float = 3000.0
    # a token is renewed this long before it expires (at most a quarter of its life)
    renew_before_seconds: float = 300.0


class Table(Protocol):
    """The settings' TOML table reader (``intake.settings``), as far as logins need it."""

    data: dict[str, Any]

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...,
            choices: tuple[str, ...] | None = None) -> Any:
        """The value of ``key``, checked."""

    def table(self, key: str) -> Table:
        """A sub-table."""

    def secret(self, base: Path, key: str = "password") -> SecretRef:
        """``<key>_env`` or ``<key>_file``."""

    def positive(self, key: str, default: float) -> float:
        """A number above zero."""

    def check_unknown(self, known: set[str]) -> None:
        """ConfigError for a key not in ``known``."""

    def _err(self, key: str, msg: str) -> ConfigError:
        """An error naming the file and the key."""


def parse_login(t: Table, base: Path) -> tuple[str, SecretRef, OAuth2Settings | None]:
    """``auth`` with its password or its ``oauth2`` table, whichever the method takes."""
    auth = t.get("auth", str, "password", choices=AUTH_METHODS)
    password = t.secret(base)
    if auth == "password":
        if "oauth2" in t.data:
            raise t._err("oauth2", 'is read only with auth = "xoauth2" or "oauthbearer"')
        return auth, password, None
    if password.configured:
        raise t._err("password_env" if password.env else "password_file",
                     f'an OAuth2 login (auth = "{auth}") takes no password')
    if "oauth2" not in t.data:
        raise t._err("oauth2", f'is required with auth = "{auth}": a table that names the token provider')
    return auth, password, _oauth2(t.table("oauth2"), base)


_PROVIDER_KEYS = {
    "entra": {"tenant_id", "client_id", "client_secret_env", "client_secret_file", "authority", "scope"},
    "google": {"service_account_env", "service_account_file", "subject", "scope"},
    "command": {"command", "timeout_seconds", "lifetime_seconds"},
}


def _oauth2(t: Table, base: Path) -> OAuth2Settings:
    provider = t.get("provider", str, choices=PROVIDERS)
    t.check_unknown({"provider", "renew_before_seconds"} | _PROVIDER_KEYS[provider])
    renew = t.positive("renew_before_seconds", 300.0)
    if provider == "entra":
        secret = t.secret(base, "client_secret")
        if not secret.configured:
            raise t._err("client_secret_env", "set client_secret_env or client_secret_file (never the secret itself)")
        authority = t.get("authority", str, ENTRA_AUTHORITY).rstrip("/")
        if not authority.startswith("https://"):
            raise t._err("authority", f"must be an https:// address, got {authority!r}")
        return OAuth2Settings(provider, scope=t.get("scope", str, ENTRA_SCOPE), tenant_id=t.get("tenant_id", str),
                              client_id=t.get("client_id", str), client_secret=secret, authority=authority,
                              renew_before_seconds=renew)
    if provider == "google":
        key = t.secret(base, "service_account")
        if not key.configured:
            raise t._err("service_account_file", "set service_account_file (the key's JSON) or service_account_env")
        return OAuth2Settings(provider, scope=t.get("scope", str, GOOGLE_SCOPE), service_account=key,
                              subject=t.get("subject", str, None), renew_before_seconds=renew)
    command = t.get("command", list)
    if not command or not all(isinstance(c, str) and c for c in command):
        raise t._err("command", "expected a non-empty list: the program and its arguments")
    return OAuth2Settings(provider, scope="", command=tuple(command),
                          command_timeout_seconds=t.positive("timeout_seconds", 30.0),
                          lifetime_seconds=t.positive("lifetime_seconds", 3000.0), renew_before_seconds=renew)
