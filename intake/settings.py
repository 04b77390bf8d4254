"""Operator settings: a TOML file validated into typed objects with clear errors.

Every error names the file and the key. Secrets (passwords, OAuth2 client
secrets) are never read from the TOML itself: the settings name an environment
variable or a file (``intake.secrets``, which also holds the OAuth2 settings).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from intake.errors import ConfigError
from intake.secrets import OAuth2Settings, SecretRef, parse_login
from intake.tables import Table as _Table
from intake.websettings import WebSettings, parse_web
from parsers.limits import SizeLimits

ENV_CONFIG = "PULJE_INTAKE_CONFIG"


@dataclass(frozen=True)
class MaildirSourceSettings:
    """A local Maildir or a folder of ``.eml`` files."""

    name: str
    path: Path
    poll_interval_seconds: float = 60.0
    type: str = "maildir"


@dataclass(frozen=True)
class ImapSourceSettings:
    """An IMAP account and the folders to take mail from."""

    name: str
    host: str
    port: int
    security: str  # tls | starttls | plain
    username: str
    password_env: str | None
    password_file: Path | None
    folders: tuple[str, ...]
    ack: str  # keyword | move
    ack_keyword: str
    move_to: str | None
    idle: bool
    poll_interval_seconds: float
    idle_renew_seconds: float
    timeout_seconds: float
    fetch_batch: int
    slice_bytes: int
    reconnect_max_seconds: float
    type: str = "imap"
    auth: str = "password"  # password | xoauth2 | oauthbearer
    oauth2: OAuth2Settings | None = None  # where the tokens come from, for xoauth2/oauthbearer

    def password(self) -> str:
        """Read the password from the environment or the password file."""
        return SecretRef(self.password_env, self.password_file).require(f"source '{self.name}'")


@dataclass(frozen=True)
class SmtpSettings:
    """How the outbox reaches an SMTP server."""

    host: str
    port: int
    security: str
    username: str | None
    password_env: str | None
    password_file: Path | None
    timeout_seconds: float
    auth: str = "password"  # password | xoauth2 | oauthbearer
    oauth2: OAuth2Settings | None = None

    def password(self) -> str | None:
        """The SMTP password, or None when no login is configured."""
        return SecretRef(self.password_env, self.password_file).read("[outbox.smtp]")


@dataclass(frozen=True)
class OutboxSettings:
    """Where outgoing mail goes and the limits that keep it polite."""

    mode: str  # files | smtp
    dir: Path
    smtp: SmtpSettings | None
    from_address: str
    from_name: str
    reply_to: str | None
    max_per_recipient_per_hour: int
    max_receipt_age_hours: float
    max_attempts: int
    staff: tuple[str, ...]
    max_per_domain_per_hour: int = 20
    max_per_hour: int = 200  # all automatic mail to applicants together
    # the authserv-id of the inbox's own mail server: only its Authentication-Results are
    # believed, and automatic mail goes only to senders it verified (None: rate limits alone)
    trusted_authserv_id: str | None = None
    # a worker killed while sending: the mail goes again (same Message-ID) after this lease
    send_lease_seconds: float = 60.0


@dataclass(frozen=True)
class ProcessingSettings:
    """Limits for the pure steps."""

    max_attempts: int
    max_message_bytes: int
    max_attachment_bytes: int
    max_pdf_pages: int
    max_sheet_cells: int
    # what the readers check before a library builds a file or a mail (parsers/limits.py)
    sizes: SizeLimits = field(default_factory=SizeLimits)
    # the child process that reads a mail (intake/cases/reading.py): its limits per message
    child_memory_mb: int = 1024  # RLIMIT_AS; pdfplumber + openpyxl need more than 512 under it
    child_cpu_seconds: int = 60  # RLIMIT_CPU
    child_wall_seconds: float = 90.0  # then the worker kills the child
    # how long a worker's claim on a message lasts (a crashed worker's claim expires after it)
    claim_seconds: float = 300.0
    # reading children: one reads the message in hand, the others read the next ones ahead
    readers: int = 2


@dataclass(frozen=True)
class ScheduleSettings:
    """How often the service's jobs run (seconds), and when the daily digest goes."""

    process_seconds: float = 60.0
    drain_seconds: float = 60.0
    # Hourly although reminders are daily: each goes once anyway, and a worker
    # restarted every day would otherwise never reach a daily interval.
    remind_seconds: float = 3600.0
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    digest_hour_local: float = 7.0
    digest_check_seconds: float = 300.0


@dataclass(frozen=True)
class StatusSettings:
    """When ``status`` calls the worker unhealthy (exit 1)."""

    max_fetch_age_minutes: float = 30.0  # a folder not fetched for longer than this
    max_outbox_wait_minutes: float = 60.0  # a due mail still unsent after this


@dataclass(frozen=True)
class Settings:
    """Everything the worker reads from its settings file."""

    path: Path | None
    database_url: str
    auto_upgrade: bool
    pool: str
    sources: tuple[MaildirSourceSettings | ImapSourceSettings, ...]
    processing: ProcessingSettings
    outbox: OutboxSettings
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    web: WebSettings = field(default_factory=WebSettings)
    database_password: SecretRef = SecretRef()
    status: StatusSettings = field(default_factory=StatusSettings)


def _source(t: _Table, base: Path, index: int) -> MaildirSourceSettings | ImapSourceSettings:
    kind = t.get("type", str, choices=("maildir", "imap"))
    name = t.get("name", str, f"{kind}{index + 1}")
    if kind == "maildir":
        t.check_unknown({"type", "name", "path", "poll_interval_seconds"})
        return MaildirSourceSettings(name=name, path=t.path("path", base),
                                     poll_interval_seconds=t.get("poll_interval_seconds", float, 60.0))
    t.check_unknown(
        {"type", "name", "host", "port", "security", "username", "password_env", "password_file",
         "folders", "ack", "ack_keyword", "move_to", "idle", "poll_interval_seconds",
         "idle_renew_seconds", "timeout_seconds", "fetch_batch", "slice_bytes",
         "reconnect_max_seconds", "auth", "oauth2"}
    )
    security = t.get("security", str, "tls", choices=("tls", "starttls", "plain"))
    ack = t.get("ack", str, "keyword", choices=("keyword", "move"))
    move_to = t.get("move_to", str, None)
    if ack == "move" and not move_to:
        raise t._err("move_to", "is required when ack = \"move\"")
    auth, password, oauth2 = parse_login(t, base)
    if auth == "password" and not password.configured:
        raise t._err("password_env", "set password_env or password_file (never the password itself)")
    folders = t.get("folders", list, ["INBOX"])
    if not folders or not all(isinstance(f, str) for f in folders):
        raise t._err("folders", "expected a non-empty list of folder names")
    if ack == "move" and move_to in folders:
        # moved mail would be fetched from there and moved again, for ever
        raise t._err("move_to", f"must not be one of the folders mail is taken from, got {move_to!r}")
    renew = t.get("idle_renew_seconds", float, 25 * 60.0)
    if not 0 < renew < 29 * 60:
        raise t._err("idle_renew_seconds", "must be above 0 and below 1740 (RFC 2177: 29 minutes)")
    # zero or negative sizes would make the fetch loop spin without progress
    fetch_batch = t.get("fetch_batch", int, 50)
    if fetch_batch < 1:
        raise t._err("fetch_batch", f"must be at least 1, got {fetch_batch}")
    slice_bytes = t.get("slice_bytes", int, 1024 * 1024)
    if slice_bytes < 4096:
        raise t._err("slice_bytes", f"must be at least 4096, got {slice_bytes}")
    timeout = t.get("timeout_seconds", float, 30.0)
    if timeout <= 0:
        raise t._err("timeout_seconds", f"must be above 0, got {timeout}")
    return ImapSourceSettings(
        name=name,
        host=t.get("host", str),
        port=t.get("port", int, {"tls": 993}.get(security, 143)),
        security=security,
        username=t.get("username", str),
        password_env=password.env,
        password_file=password.file,
        folders=tuple(folders),
        ack=ack,
        ack_keyword=t.get("ack_keyword", str, "$PuljeIntake"),
        move_to=move_to,
        idle=t.get("idle", bool, True),
        poll_interval_seconds=t.get("poll_interval_seconds", float, 60.0),
        idle_renew_seconds=renew,
        timeout_seconds=timeout,
        fetch_batch=fetch_batch,
        slice_bytes=slice_bytes,
        reconnect_max_seconds=t.get("reconnect_max_seconds", float, 300.0),
        auth=auth,
        oauth2=oauth2,
    )


def _positive(t: _Table, key: str, default: int) -> int:
    """An integer setting above 0 (a limit of 0 would refuse every mail)."""
    value: int = t.get(key, int, default)
    if value < 1:
        raise t._err(key, f"must be at least 1, got {value}")
    return value


def _schedule(t: _Table) -> ScheduleSettings:
    defaults = ScheduleSettings()
    names = [f.name for f in fields(ScheduleSettings)]
    t.check_unknown(set(names))
    values = {name: t.get(name, float, getattr(defaults, name)) for name in names}
    for name, value in values.items():
        if value <= 0 and name != "digest_hour_local":
            raise t._err(name, f"must be above 0, got {value:g}")
    if not 0 <= values["digest_hour_local"] < 24:
        raise t._err("digest_hour_local", f"must be an hour of the day (0 to 24), got {values['digest_hour_local']:g}")
    return ScheduleSettings(**values)


def parse_settings(data: dict[str, Any], file: str, base: Path) -> Settings:
    """Validate parsed TOML into :class:`Settings`; relative paths resolve against ``base``."""
    root = _Table(data, "", file)
    root.check_unknown({"pool", "database", "sources", "processing", "outbox", "schedule", "status",
                        "web"})
    db = root.table("database")
    db.check_unknown({"url", "auto_upgrade", "password_env", "password_file"})
    url = db.get("url", str, "sqlite:///var/pulje-intake.db")
    if urlsplit(url).password is not None:
        raise db._err("url", "holds a password: name password_env or password_file instead")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        url = "sqlite:///" + str(base / url[len("sqlite:///"):])
    raw_sources = root.get("sources", list, [])
    sources = []
    for i, s in enumerate(raw_sources):
        if not isinstance(s, dict):
            raise ConfigError(f"{file}: sources[{i}]: expected a table")
        sources.append(_source(_Table(s, f"sources[{i}]", file), base, i))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{file}: sources: every source needs its own name, got {names}")
    p = root.table("processing")
    size_keys = [f.name for f in fields(SizeLimits)]
    p.check_unknown({"max_attempts", "max_message_bytes", "max_attachment_bytes", "max_pdf_pages",
                     "max_sheet_cells", "child_memory_mb", "child_cpu_seconds", "child_wall_seconds",
                     "claim_seconds", "readers", *size_keys})
    wall = p.positive("child_wall_seconds", 90.0)
    claim = p.positive("claim_seconds", 300.0)
    readers = _positive(p, "readers", 2)
    if claim <= wall * readers:  # else a second worker could take a message still waiting its turn
        raise p._err("claim_seconds", f"must be longer than child_wall_seconds × readers "
                                      f"({wall:g} × {readers}), got {claim:g}")
    processing = ProcessingSettings(
        max_attempts=p.get("max_attempts", int, 3),
        max_message_bytes=p.get("max_message_bytes", int, 50 * 1024 * 1024),
        max_attachment_bytes=p.get("max_attachment_bytes", int, 25 * 1024 * 1024),
        max_pdf_pages=p.get("max_pdf_pages", int, 50),
        max_sheet_cells=p.get("max_sheet_cells", int, 200_000),
        sizes=SizeLimits(**{k: _positive(p, k, getattr(SizeLimits(), k)) for k in size_keys}),
        child_memory_mb=_positive(p, "child_memory_mb", 1024),
        child_cpu_seconds=_positive(p, "child_cpu_seconds", 60),
        child_wall_seconds=wall,
        claim_seconds=claim,
        readers=readers,
    )
    o = root.table("outbox")
    o.check_unknown({"mode", "dir", "smtp", "from_address", "from_name", "reply_to",
                     "max_per_recipient_per_hour", "max_receipt_age_hours", "max_attempts", "staff",
                     "max_per_domain_per_hour", "max_per_hour", "trusted_authserv_id",
                     "send_lease_seconds"})
    mode = o.get("mode", str, "files", choices=("files", "smtp"))
    smtp = None
    if mode == "smtp":
        s = o.table("smtp")
        s.check_unknown({"host", "port", "security", "username", "password_env", "password_file",
                         "timeout_seconds", "auth", "oauth2"})
        security = s.get("security", str, "starttls", choices=("tls", "starttls", "plain"))
        auth, password, oauth2 = parse_login(s, base)
        if auth != "password" and "username" not in s.data:
            raise s._err("username", f'is required with auth = "{auth}": the mailbox that sends')
        smtp = SmtpSettings(
            host=s.get("host", str),
            port=s.get("port", int, {"tls": 465, "starttls": 587}.get(security, 25)),
            security=security,
            username=s.get("username", str, None),
            password_env=password.env,
            password_file=password.file,
            timeout_seconds=s.get("timeout_seconds", float, 30.0),
            auth=auth,
            oauth2=oauth2,
        )
    outbox = OutboxSettings(
        mode=mode,
        dir=o.path("dir", base, "var/outbox"),
        smtp=smtp,
        from_address=o.get("from_address", str, "pulje@bl.dk"),
        from_name=o.get("from_name", str, "Pulje til sociale viceværter"),
        reply_to=o.get("reply_to", str, None),
        max_per_recipient_per_hour=o.get("max_per_recipient_per_hour", int, 5),
        max_receipt_age_hours=o.get("max_receipt_age_hours", float, 72.0),
        max_attempts=o.get("max_attempts", int, 8),
        staff=tuple(o.get("staff", list, [])),
        max_per_domain_per_hour=_positive(o, "max_per_domain_per_hour", 20),
        max_per_hour=_positive(o, "max_per_hour", 200),
        trusted_authserv_id=o.get("trusted_authserv_id", str, None) or None,
        send_lease_seconds=o.positive("send_lease_seconds", 60.0),
    )
    schedule = _schedule(root.table("schedule"))
    st = root.table("status")
    st.check_unknown({"max_fetch_age_minutes", "max_outbox_wait_minutes"})
    status = StatusSettings(max_fetch_age_minutes=st.positive("max_fetch_age_minutes", 30.0),
                            max_outbox_wait_minutes=st.positive("max_outbox_wait_minutes", 60.0))
    return Settings(
        path=None,
        database_url=url,
        auto_upgrade=db.get("auto_upgrade", bool, True),
        pool=root.get("pool", str, "sociale-viceværter-2025"),
        sources=tuple(sources),
        processing=processing,
        outbox=outbox,
        schedule=schedule,
        database_password=db.secret(base),
        status=status,
        web=parse_web(root.table("web"), base),
    )


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Read settings from ``path`` or ``$PULJE_INTAKE_CONFIG``; raise ConfigError on any problem."""
    if path is None:
        path = os.environ.get(ENV_CONFIG)
    if not path:
        raise ConfigError(f"no settings file: pass --config FILE or set {ENV_CONFIG}")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: settings file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read settings file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    settings = parse_settings(data, str(p), p.resolve().parent)
    return Settings(**{**settings.__dict__, "path": p})
