"""``status``: is the worker doing its job? The last fetch per folder, what waits, the outbox, the jobs.

Exit 0 when healthy, 1 when a folder has not been fetched for longer than
``[status] max_fetch_age_minutes`` (or never), a mail in the outbox has waited
longer than ``max_outbox_wait_minutes``, or quarantined mail nobody has looked
at yet (``quarantine show``) — so a monitor or a systemd timer can alert.
Everything is read from the database; no mail server is asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from intake.app import App, make_source
from intake.commands.views import local
from intake.outbox import reminder_rules
from intake.settings import ImapSourceSettings, MaildirSourceSettings
from notifications import reminders
from notifications.render import one_line
from store import health


@dataclass
class Status:
    """What ``status`` found: the lines to print and what makes the worker unhealthy."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Nothing to alert about."""
        return not self.problems

    def __str__(self) -> str:
        verdict = ["verdict: healthy"] if self.healthy else ["verdict: UNHEALTHY"] + [f"  - {p}" for p in self.problems]
        return "\n".join(self.lines + verdict)


def age(delta: dt.timedelta) -> str:
    """A duration as a person reads it: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def folders_of(cfg: MaildirSourceSettings | ImapSourceSettings) -> tuple[str, list[str]]:
    """(account, folders) as the fetch loop names them."""
    if isinstance(cfg, ImapSourceSettings):
        return f"imap:{cfg.name}", list(cfg.folders)
    source = make_source(cfg)
    return source.account, list(source.folders())


def _fetching(s: Session, app: App, now: dt.datetime, st: Status) -> None:
    limit = dt.timedelta(minutes=app.settings.status.max_fetch_age_minutes)
    st.lines.append("fetching")
    for cfg in app.settings.sources:
        account, folders = folders_of(cfg)
        for folder in folders:
            row = health.fetch_status(s, account, folder)
            where = f"{account}/{folder}"
            last = row.last_success_at if row is not None else None
            text = f"last fetched {local(last, app.pool)} ({age(now - last)} ago)" if last else "never fetched"
            if row is not None and row.failing_since is not None:
                text += (f"; failing since {local(row.failing_since, app.pool)}: "
                         f"{one_line(row.last_error, 160)}")
            st.lines.append(f"  {where}: {text}")
            if last is None:
                st.problems.append(f"{where}: never fetched (is the service running?)")
            elif now - last > limit:
                st.problems.append(f"{where}: last fetched {age(now - last)} ago "
                                   f"(limit {age(limit)}: [status] max_fetch_age_minutes)")


def _mail(s: Session, app: App, st: Status) -> None:
    counts = health.message_counts(s, app.settings.processing.max_attempts)
    text = f"  {counts.waiting} waiting to be processed"
    if counts.failing:
        text += f" ({counts.failing} failed before and will be tried again)"
    text += f", {counts.quarantined} quarantined"
    if counts.quarantined_unseen:
        text += f" ({counts.quarantined_unseen} not looked at yet)"
        st.problems.append(f"{counts.quarantined_unseen} quarantined mail(s) nobody has looked at "
                           "(pulje-intake quarantine list, then quarantine show ID)")
    st.lines += ["mail", text]


def _outbox(s: Session, app: App, now: dt.datetime, st: Status) -> None:
    counts = health.outbox_counts(s)
    limit = dt.timedelta(minutes=app.settings.status.max_outbox_wait_minutes)
    text = f"  {counts.pending} waiting to be sent"
    if counts.oldest_pending_at is not None:
        waited = now - counts.oldest_pending_at
        text += f", the oldest queued {local(counts.oldest_pending_at, app.pool)} ({age(waited)} ago)"
        if counts.next_attempt_at is not None and counts.next_attempt_at > now:
            text += f", next attempt {local(counts.next_attempt_at, app.pool)}"
        if waited > limit:
            st.problems.append(f"outbox: a mail has waited {age(waited)} to be sent "
                               f"(limit {age(limit)}: [status] max_outbox_wait_minutes)")
    text += f"; {counts.failed} failed (the server refused them; see cases show)"
    if counts.held:
        text += f"; {counts.held} held for a person (the server kept answering 'try later')"
        st.problems.append(f"outbox: {counts.held} mail(s) held after repeated 4xx answers: "
                           "they wait for a person (the staff page's I dag, or the digest)")
    st.lines += [f"outbox ({app.settings.outbox.mode})", text]


def next_digest(now: dt.datetime, tz: dt.tzinfo, hour: float, last: dt.datetime | None) -> dt.datetime:
    """When the daily digest goes next (the job sends it once a day after ``hour``, local time)."""
    local_now = now.astimezone(tz)
    today = dt.datetime.combine(local_now.date(), dt.time(0), tzinfo=tz) + dt.timedelta(hours=hour)
    sent_today = last is not None and last.astimezone(tz).date() == local_now.date()
    if sent_today:
        return today + dt.timedelta(days=1)
    return max(today, now)


def _jobs(s: Session, app: App, now: dt.datetime, st: Status) -> None:
    every = app.settings.schedule
    st.lines.append("jobs")
    last = health.job_last_run(s, "digest")
    sent = f"last sent {local(last, app.pool)}" if last else "never sent"
    if app.settings.outbox.staff:
        nxt = next_digest(now, app.pool.timezone, every.digest_hour_local, last)
        when = "due now" if nxt <= now else local(nxt, app.pool)
        st.lines.append(f"  digest: {sent}; next {when} to {len(app.settings.outbox.staff)} address(es)")
    else:
        st.lines.append(f"  digest: {sent}; never sent while [outbox] staff is empty")
    ran = health.job_last_run(s, reminders.JOB_NAME)
    if ran is not None:
        check = (f"last run {local(ran, app.pool)}, "
                 f"next check {local(ran + dt.timedelta(seconds=every.remind_seconds), app.pool)}")
    else:
        check = "not run yet"
    upcoming = []
    for rule in reminder_rules(app.pool):
        start, _ = reminders.window(rule, app.pool.dates, app.pool.timezone)
        if start > now:
            upcoming.append((start, rule.id))
    if upcoming:
        start, rule_id = min(upcoming)
        check += f"; next reminder {rule_id} from {local(start, app.pool)}"
    st.lines.append(f"  reminders: {check}")


def gather(app: App) -> Status:
    """Everything ``status`` shows, read from the database at the app's clock."""
    now = app.context.now()
    st = Status()
    with app.context.factory() as s:
        _fetching(s, app, now, st)
        _mail(s, app, st)
        _outbox(s, app, now, st)
        _jobs(s, app, now, st)
    return st


def status_command(app: App) -> int:
    """``status``: print what was found and the verdict; exit 0 healthy, 1 unhealthy."""
    st = gather(app)
    print(st)
    return 0 if st.healthy else 1
