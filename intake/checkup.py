"""``check``: settings, database, IMAP logins and SMTP, each with a verdict line."""

from __future__ import annotations

import smtplib
import ssl

from intake.errors import ConfigError, IntakeError, TemporaryFailure
from intake.settings import ImapSourceSettings, MaildirSourceSettings, load_settings


def _line(ok: str, what: str, detail: str) -> None:
    print(f"[{ok:^4}] {what}: {detail}")


def check_smtp(cfg) -> str:
    """Connect and say EHLO (and log in, if configured); raise TemporaryFailure if unreachable."""
    try:
        if cfg.security == "tls":
            conn = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        with conn:
            conn.ehlo()
            if cfg.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            password = cfg.password()
            if cfg.username and password is not None:
                conn.login(cfg.username, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise ConfigError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"SMTP {cfg.host}:{cfg.port} unreachable: {exc}") from None
    return f"{cfg.host}:{cfg.port} answers"


def run_checks(config_path) -> int:
    """Run every check, print one line each and a verdict; return 0, 1 or 75."""
    worst = 0

    def record(exc: IntakeError, what: str) -> None:
        nonlocal worst
        _line("FAIL", what, str(exc))
        if isinstance(exc, TemporaryFailure):
            worst = worst or 75
        else:
            worst = 1

    try:
        settings = load_settings(config_path)
        _line("ok", "settings", str(settings.path))
    except ConfigError as exc:
        record(exc, "settings")
        print("verdict: settings must be fixed (exit 1)")
        return 1
    try:
        from intake.app import build_app
        from store import db

        app = build_app(settings, upgrade=False)
        _line("ok", "pool", f"{app.pool.name} ({app.pool.source})")
        rev, head = db.current_revision(app.engine), db.head_revision()
        if rev == head:
            _line("ok", "database", f"revision {rev}")
        elif settings.auto_upgrade:
            _line("ok", "database", f"revision {rev}; will be upgraded to {head} on start")
        else:
            record(ConfigError(f"revision {rev}, code needs {head}: run 'pulje-intake db upgrade'"), "database")
    except IntakeError as exc:
        record(exc, "database")
    except Exception as exc:
        record(TemporaryFailure(f"{type(exc).__name__}: {str(exc).splitlines()[0]}"), "database")
    for src in settings.sources:
        what = f"source {src.name}"
        if isinstance(src, MaildirSourceSettings):
            if src.path.is_dir():
                _line("ok", what, f"folder {src.path}")
            else:
                record(ConfigError(f"folder {src.path} does not exist"), what)
            continue
        assert isinstance(src, ImapSourceSettings)
        try:
            from intake.sources.imap import ImapSource

            _line("ok", what, ImapSource(src).check())
        except IntakeError as exc:
            record(exc, what)
        except OSError as exc:
            record(TemporaryFailure(str(exc)), what)
    if settings.outbox.mode == "smtp":
        try:
            _line("ok", "smtp", check_smtp(settings.outbox.smtp))
        except IntakeError as exc:
            record(exc, "smtp")
    else:
        _line("ok", "outbox", f"mail is written as files into {settings.outbox.dir}")
    verdict = {0: "all good", 1: "something must be fixed (exit 1)",
               75: "a server is unreachable; try again later (exit 75)"}[worst]
    print(f"verdict: {verdict}")
    return worst
