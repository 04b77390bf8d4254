"""``check``: settings, database, tokens, IMAP logins and SMTP, each with a verdict line.

An OAuth2 login shows its token step on a line of its own, before the login, so
an operator sees whether the token service or the mail server said no.
"""

from __future__ import annotations

from intake.errors import ConfigError, IntakeError, TemporaryFailure
from intake.settings import (
    ImapSourceSettings,
    MaildirSourceSettings,
    Settings,
    SmtpSettings,
    load_settings,
)


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


def _smtp_token(smtp: SmtpSettings) -> str:
    """Fetch the SMTP login's token; a one-line summary."""
    import time

    from intake import tokens

    assert smtp.oauth2 is not None and smtp.username
    provider = tokens.provider_for(smtp.oauth2, smtp.username)
    token = provider.get("[outbox.smtp]")
    left = int(token.expires_at - time.time()) // 60
    return f"{smtp.auth.upper()} token for {smtp.username} from {provider.describe()}, valid for {left} min"


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
        from intake.sources.imap import ImapSource

        source = ImapSource(src)
        try:
            token = source.check_token()
            if token is not None:
                _line("ok", f"{what} token", token)
        except IntakeError as exc:
            record(exc, f"{what} token")
            continue
        try:
            _line("ok", what, source.check())
        except IntakeError as exc:
            record(exc, what)
        except OSError as exc:
            record(TemporaryFailure(str(exc)), what)
    if settings.outbox.mode == "smtp":
        smtp = settings.outbox.smtp
        try:
            if smtp is not None and smtp.oauth2 is not None:
                _line("ok", "smtp token", _smtp_token(smtp))
            _line("ok", "smtp", check_smtp(settings))
        except IntakeError as exc:
            record(exc, "smtp")
    else:
        _line("ok", "outbox", f"mail is written as files into {settings.outbox.dir}")
    if not settings.outbox.staff:
        _line("warn", "digest", "[outbox] staff is empty: the daily digest goes to nobody")
    _line("ok" if settings.outbox.trusted_authserv_id else "note", "senders", senders_line(settings))
    verdict = {0: "all good", 1: "something must be fixed (exit 1)",
               75: "a server is unreachable; try again later (exit 75)"}[worst]
    print(f"verdict: {verdict}")
    return worst
