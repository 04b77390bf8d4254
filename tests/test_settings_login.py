"""Settings of logins and secrets: OAuth2 tables, systemd credentials, the database password."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.errors import ConfigError
from intake.settings import parse_settings

IMAP = {"type": "imap", "host": "outlook.office365.com", "username": "pulje@bl.dk"}
ENTRA = {"provider": "entra", "tenant_id": "t", "client_id": "c", "client_secret_env": "S"}


def parse(data):
    return parse_settings(data, "s.toml", Path("/etc/pulje-intake"))


@pytest.mark.parametrize(("source", "error"), [
    ({**IMAP, "auth": "xoauth2"}, r"sources\[0\]\.oauth2: is required with auth = \"xoauth2\""),
    ({**IMAP, "password_env": "P", "oauth2": ENTRA}, r"sources\[0\]\.oauth2: is read only with auth"),
    ({**IMAP, "auth": "xoauth2", "password_env": "P", "oauth2": ENTRA},
     r"sources\[0\]\.password_env: an OAuth2 login .* takes no password"),
    ({**IMAP, "auth": "xoauth2", "oauth2": {**ENTRA, "client_secret_env": 5}},
     r"sources\[0\]\.oauth2\.client_secret_env: expected str"),
    ({**IMAP, "auth": "xoauth2", "oauth2": {"provider": "entra", "tenant_id": "t", "client_id": "c"}},
     r"sources\[0\]\.oauth2\.client_secret_env: set client_secret_env or client_secret_file"),
    ({**IMAP, "auth": "xoauth2", "oauth2": {**ENTRA, "authority": "http://login.example"}},
     r"sources\[0\]\.oauth2\.authority: must be an https:// address"),
    ({**IMAP, "auth": "xoauth2", "oauth2": {**ENTRA, "command": ["x"]}},
     r"sources\[0\]\.oauth2\.command: unknown setting"),
    ({**IMAP, "auth": "oauthbearer", "oauth2": {"provider": "command", "command": []}},
     r"sources\[0\]\.oauth2\.command: expected a non-empty list"),
    ({**IMAP, "password_env": "P", "password_file": "/x"}, r"sources\[0\]\.password_file: set password_env or"),
])
def test_login_settings_errors_name_the_key(source, error):
    with pytest.raises(ConfigError, match=r"^s\.toml: " + error):
        parse({"sources": [source]})


def test_entra_defaults_are_exchange_online():
    settings = parse({"sources": [{**IMAP, "auth": "xoauth2", "oauth2": ENTRA}]})
    oauth2 = settings.sources[0].oauth2
    assert oauth2 is not None
    assert oauth2.scope == "https://outlook.office365.com/.default"
    assert oauth2.authority == "https://login.microsoftonline.com"
    assert oauth2.client_secret.env == "S"


def test_secret_files_in_the_credentials_folder(monkeypatch, tmp_path):
    oauth2 = {"provider": "entra", "tenant_id": "t", "client_id": "c",
              "client_secret_file": "${CREDENTIALS_DIRECTORY}/entra-secret"}
    source = {**IMAP, "auth": "xoauth2", "oauth2": oauth2}
    settings = parse({"sources": [source]})
    secret = settings.sources[0].oauth2.client_secret
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match=r"client_secret_file is in \$\{CREDENTIALS_DIRECTORY\}, which "
                                          r"systemd sets for the service"):
        secret.require("source 'imap1'")
    (tmp_path / "entra-secret").write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert secret.require("source 'imap1'") == "s3cret"


def test_relative_secret_files_are_beside_the_settings():
    settings = parse({"sources": [{**IMAP, "password_file": "imap.secret"}]})
    assert settings.sources[0].password_file == Path("/etc/pulje-intake/imap.secret")


def test_database_password_never_in_the_url(monkeypatch):
    with pytest.raises(ConfigError, match=r"database\.url: holds a password"):
        parse({"database": {"url": "postgresql+psycopg://pulje:geheim@db/pulje"}})
    settings = parse({"database": {"url": "postgresql+psycopg://pulje@db/pulje", "password_env": "PGPW"}})
    monkeypatch.setenv("PGPW", "geheim")
    assert settings.database_password.read("[database]") == "geheim"


def test_smtp_oauth_needs_the_sending_mailbox():
    outbox = {"mode": "smtp", "smtp": {"host": "smtp.office365.com", "auth": "xoauth2", "oauth2": ENTRA}}
    with pytest.raises(ConfigError, match=r"outbox\.smtp\.username: is required with auth = \"xoauth2\""):
        parse({"outbox": outbox})


def test_status_thresholds_must_be_positive():
    with pytest.raises(ConfigError, match=r"status\.max_fetch_age_minutes: must be above 0"):
        parse({"status": {"max_fetch_age_minutes": 0}})
    assert parse({"status": {"max_outbox_wait_minutes": 15}}).status.max_outbox_wait_minutes == 15
