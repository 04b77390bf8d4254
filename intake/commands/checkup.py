"""``check``: settings, database, IMAP logins and SMTP, each with a verdict line."""

from __future__ import annotations

from intake.errors import ConfigError, IntakeError, TemporaryFailure
from intake.settings import ImapSourceSettings, MaildirSourceSettings, Settings, load_settings


def _line(ok: str, what: str, detail: str) -> None:
    print(f"[{ok:^4}] {what}: {detail}")


def check_smtp(settings: Settings) -> str:
    """Connect as the outbox would (TLS, login); ConfigError if the login is refused, else TemporaryFailure."""
    from intake.outbox import smtp_sender
    from notifications.smtp import LoginRefused, Unreachable

    sender = smtp_sender(settings)
    if sender is None:
        raise ConfigError('the outbox does not send over SMTP ([outbox] mode = "smtp" and [outbox.smtp])')
    try:
        return sender.check()
    except LoginRefused as exc:
        raise ConfigError(str(exc)) from None
    except Unreachable as exc:
        raise TemporaryFailure(str(exc)) from None


def senders_line(settings: Settings) -> str:
    """Who gets automatic mail: senders the trusted server verified, or anyone within the rate limits."""
    o = settings.outbox
    limits = (f"{o.max_per_recipient_per_hour} per recipient, {o.max_per_domain_per_hour} per domain, "
              f"{o.max_per_hour} in all per hour")
    if o.trusted_authserv_id:
        return (f"receipts and reminders only to senders that {o.trusted_authserv_id} verified "
                f"(its Authentication-Results: DMARC, or SPF/DKIM aligned), and at most {limits}")
    return (f"no trusted Authentication-Results header ([outbox] trusted_authserv_id): receipts rely on "
            f"rate limits alone ({limits}); anyone can make us write to any address")


def run_checks(config_path: str | None) -> int:
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
            _line("ok", "smtp", check_smtp(settings))
        except IntakeError as exc:
            record(exc, "smtp")
    else:
        _line("ok", "outbox", f"mail is written as files into {settings.outbox.dir}")
    _line("ok" if settings.outbox.trusted_authserv_id else "note", "senders", senders_line(settings))
    verdict = {0: "all good", 1: "something must be fixed (exit 1)",
               75: "a server is unreachable; try again later (exit 75)"}[worst]
    print(f"verdict: {verdict}")
    return worst
