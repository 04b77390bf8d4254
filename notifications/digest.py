"""The staff digest, the morning mail that points into the web page: first what needs a
person today (counts and the oldest items of each kind, from ``store.work``), then what
changed since the last digest, then the figures and the coming dates.

Every list is bounded ("og 417 flere"), so the mail stays far below the ~100 KB
where mail clients cut a message, whatever the volume. Each item links to its
page in the web page (``[web] base_url``). Decided cases are not listed under
problems: the committee has dealt with them.

``collect`` reads the database into plain rows, ``render`` turns them into a
subject, a plain text and an HTML body (Jinja2 templates in
``config/templates/digest.*.j2``, Danish, inline CSS only, no scripts or
external resources, so it reads well in any mail client and on a phone).

"New since the last digest" is measured from ``JobState('digest').last_run_at``,
by the time intake made the case (``Case.created_at``), so mail fetched late is
not missed. That time moves only when a digest is really sent (the daily job or
``digest --send``); writing the digest to a file alone is a preview and does not
move it, so the next mailed digest still shows everything new.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import grantdigest, outbox
from notifications.grantdigest import GrantPart
from notifications.render import PoolCalendar, Sender, build_message, one_line, render_pair
from parsers.danish import date_da, timestamp_da
from store import casedata as cd
from store import caserows, work
from store.models import Case, CaseEvent, JobState
from store.words import DECIDED, CaseEventKind, CaseStatus, MailKind, OutboxPurpose, WorkKind

log = logging.getLogger(__name__)

JOB_NAME = "digest"
DEFAULT_HOUR = 7.0
PER_KIND = 10  # oldest items listed per kind of work; the rest are counted
MAX_LIST = 25  # rows of any other list (new cases, problems, late, decisions)


class DigestError(Exception):
    """The digest cannot be sent as configured (e.g. no staff addresses)."""


@dataclass(frozen=True)
class CaseRow:
    """A case as one line of the digest."""

    case_id: str
    kind: str
    status: str
    organisation: str
    municipality: str
    sender: str
    received: str


@dataclass(frozen=True)
class ProblemRow:
    """One problem of a case, in Danish."""

    field: str
    message: str
    warning: bool


@dataclass(frozen=True)
class WorkRow:
    """One thing that needs a person, as a line of the digest (``link``: its web page)."""

    key: str
    number: int | None  # the mail's number, for mail items
    case_id: str | None
    received: str
    sender: str
    subject: str
    why: str
    link: str


@dataclass(frozen=True)
class WorkSection:
    """The oldest items of one kind, with how many more there are."""

    kind: str
    label: str
    rows: list[WorkRow]
    count: int

    @property
    def more(self) -> int:
        """Items not listed."""
        return self.count - len(self.rows)


@dataclass(frozen=True)
class DeadlineRow:
    """A coming date of the pool."""

    key: str
    label: str
    date: str
    when: str


@dataclass
class DigestData:
    """Everything the digest shows, already formatted for staff."""

    pool_name: str
    generated: str
    since: str | None
    kinds: list[tuple[str, str]]
    status_counts: list[tuple[str, list[int], int]]
    kind_totals: list[int]
    total: int
    municipality_counts: list[tuple[str, int]]
    work_total: int
    work: list[WorkSection]
    new_cases: list[CaseRow]
    new_count: int
    decided: list[tuple[CaseRow, str]]
    resolved_count: int
    problem_cases: list[tuple[CaseRow, list[ProblemRow]]]
    problem_count: int
    late: list[CaseRow]
    late_count: int
    deadlines: list[DeadlineRow]
    date_text: str = ""
    web_url: str = ""
    grants: GrantPart | None = None  # answers, letters and quarters (notifications/grantdigest.py)

    def section(self, kind: str) -> WorkSection | None:
        """The work section of one kind."""
        return next((w for w in self.work if w.kind == kind), None)


@dataclass(frozen=True)
class Digest:
    """A rendered digest."""

    subject: str
    text: str
    html: str
    data: DigestData


@cache
def labels() -> dict[str, Any]:
    """The Danish words for statuses, kinds and dates (``config/digest.da.toml``)."""
    return tomllib.loads(resources.files("config").joinpath("digest.da.toml").read_text("utf-8"))


def _case_row(case: caserows.CaseRow, tz: dt.tzinfo) -> CaseRow:
    return CaseRow(
        case_id=case.case_id, kind=case.kind, status=case.status,
        organisation=cd.org_name(case) or "(ukendt organisation)",
        municipality=cd.municipality(case) or "(ukendt kommune)",
        sender=case.sender or "-", received=timestamp_da(case.received_at, tz),
    )


def item_path(item: work.WorkItem) -> str:
    """Where an item is dealt with in the web page."""
    if item.kind == WorkKind.REVIEW:
        return f"/sager/{item.case_id}#kontrol"
    if item.kind == WorkKind.UNSENT:
        return f"/udbakke/{item.outbox_pk}"
    return f"/post/{item.message_pk}"


def _work_row(item: work.WorkItem, tz: dt.tzinfo, words: dict[str, Any], web_url: str) -> WorkRow:
    why = reason_da(item.why, words) if item.kind in (WorkKind.TRIAGE, WorkKind.REPLY) else item.why
    return WorkRow(key=item.key, number=item.message_pk if item.key.startswith("msg:") else None,
                   case_id=item.case_id, received=timestamp_da(item.since, tz),
                   sender=item.who or "(ukendt afsender)", subject=one_line(item.title or "(intet emne)", 200),
                   why=one_line(why or "-", 300), link=f"{web_url}{item_path(item)}" if web_url else "")


def reason_da(reason: str | None, words: dict[str, Any] | None = None) -> str | None:
    """Routing's English reason in Danish for staff, with the English detail kept in brackets."""
    words = labels() if words is None else words
    if not reason:
        return reason
    for start, danish in words.get("triage_reasons", {}).items():
        if reason.startswith(start):
            return danish if reason == start else f"{danish} ({reason})"
    return reason


def _days_text(days: int) -> str:
    return {0: "i dag", 1: "i morgen"}.get(days, f"om {days} dage")


def last_digest_at(session: Session) -> dt.datetime | None:
    """When the last digest was sent, or None if never."""
    state = session.get(JobState, JOB_NAME)
    return state.last_run_at if state is not None else None


def record_sent(session: Session, now: dt.datetime, detail: dict[str, Any] | None = None) -> None:
    """Remember that a digest went out at ``now`` (the next one counts from here)."""
    state = session.get(JobState, JOB_NAME)
    if state is None:
        state = JobState(name=JOB_NAME, data={})
        session.add(state)
    state.last_run_at = now
    state.data = dict(detail or {})


def collect(session: Session, pool: PoolCalendar, now: dt.datetime, since: dt.datetime | None,
            web_url: str = "") -> DigestData:
    """Read what the digest shows. ``pool`` gives ``name``, ``timezone`` and ``dates``;
    ``web_url`` is the web page's address (no links when empty)."""
    tz = pool.timezone
    words = labels()
    web_url = web_url.rstrip("/")
    # the form only of cases without an organisation or municipality of their own (all a digest reads of it)
    listed = caserows.case_query(columns=(Case.id, Case.case_id, Case.kind, Case.status, Case.sender,
                                          Case.received_at, Case.created_at, Case.org_name, Case.municipality))
    cases = caserows.case_rows(session, listed, json_columns=("problems",), fields_when=caserows.form_needed())
    order = list(words.get("status_order", []))
    statuses = order + sorted({c.status for c in cases} - set(order))
    kind_keys = list(words.get("kinds", {}))
    kind_keys += sorted({c.kind for c in cases} - set(kind_keys))
    counts = Counter((c.status, c.kind) for c in cases)
    status_counts = [(st, [counts[(st, k)] for k in kind_keys], sum(counts[(st, k)] for k in kind_keys))
                     for st in statuses]
    municipalities = Counter(cd.municipality(c) or "(ukendt kommune)"
                             for c in cases if c.kind == MailKind.APPLICATION)
    todo = work.open_items(session, per_kind=PER_KIND)
    kind_words = work.words_da()["kinds"]
    sections = [WorkSection(kind=k, label=kind_words[k], count=todo.counts[k],
                            rows=[_work_row(i, tz, words, web_url) for i in todo.of_kind(k)])
                for k in work.KIND_ORDER]
    new = [c for c in cases if since is None or c.created_at > since]
    problem_cases = []
    for c in cases:
        probs = cd.problems(c)
        if probs and c.status not in DECIDED:
            problem_cases.append((_case_row(c, tz), [
                ProblemRow(field=str(p.get("field") or ""), message=cd.problem_message(p),
                           warning=p.get("severity") == "warning") for p in probs]))
    decisions = select(CaseEvent.case_pk, CaseEvent.detail).where(CaseEvent.kind == CaseEventKind.DECISION)
    if since is not None:
        decisions = decisions.where(CaseEvent.at > since)
    decided = session.execute(decisions.order_by(CaseEvent.at, CaseEvent.id)).all()
    by_pk = {c.id: c for c in cases}
    late = [c for c in cases if c.status == CaseStatus.LATE]
    today = now.astimezone(tz).date()
    deadlines = [
        DeadlineRow(key=key, label=words.get("dates", {}).get(key, key), date=date_da(day, weekday=True),
                    when=_days_text((day - today).days))
        for key, day in sorted(pool.dates.items(), key=lambda kv: kv[1]) if day >= today
    ]
    return DigestData(
        pool_name=pool.name,
        generated=timestamp_da(now, tz),
        since=timestamp_da(since, tz) if since is not None else None,
        kinds=[(k, words.get("kinds", {}).get(k, k)) for k in kind_keys],
        status_counts=status_counts,
        kind_totals=[sum(1 for c in cases if c.kind == k) for k in kind_keys],
        total=len(cases),
        municipality_counts=sorted(municipalities.items(), key=lambda kv: (-kv[1], kv[0])),
        work_total=todo.total,
        work=sections,
        new_cases=[_case_row(c, tz) for c in new[:MAX_LIST]],
        new_count=len(new),
        decided=[(_case_row(by_pk[pk], tz), one_line(detail or "", 200)) for pk, detail in decided[:MAX_LIST]],
        resolved_count=len(work.resolved_since(session, since)),
        problem_cases=problem_cases[:MAX_LIST],
        problem_count=len(problem_cases),
        late=[_case_row(c, tz) for c in late[:MAX_LIST]],
        late_count=len(late),
        deadlines=deadlines,
        date_text=date_da(today),
        web_url=web_url,
        grants=grantdigest.collect(session, pool, pool.dates.get("answer_by"), tz, now, web_url)
        if isinstance(pool, grantdigest.GrantCalendar) else None,
    )


def render(data: DigestData) -> Digest:
    """Subject, plain text and HTML of a digest (the mail templates' environment and filters)."""
    subject = f"Daglig oversigt: {data.pool_name}, {data.date_text}"
    text, html = render_pair("digest", {"d": data, "subject": subject})
    return Digest(subject=subject, text=text, html=html, data=data)


def build(session: Session, pool: PoolCalendar, now: dt.datetime, web_url: str = "") -> Digest:
    """The digest as it would be sent now (new cases counted from the last sent digest)."""
    with caserows.gc_paused():  # thousands of rows: see gc_paused
        return render(collect(session, pool, now, last_digest_at(session), web_url))


def dedupe_key(day: dt.date, address: str) -> str:
    """One digest per staff address and local day: ``digest:<date>:<address lower-cased>``."""
    return f"digest:{day.isoformat()}:{address.strip().lower()}"


def send(session: Session, pool: PoolCalendar, now: dt.datetime, staff: Sequence[str],
         sender: Sender, digest: Digest | None = None, web_url: str = "") -> list[str]:
    """Put the digest in the outbox once per staff address and local day; record the time.

    Returns the addresses newly queued (an address already given today's digest
    is skipped by its dedupe key, see :func:`dedupe_key`).

    The rows go through the one outbox (``outbox.enqueue``) with messages from
    ``render.build_message``, like receipts and reminders, with two differences:

    * ``Auto-Submitted: auto-generated`` (RFC 3834 §5): the digest is made by a
      timer, not in answer to a mail, so it is no ``auto-replied``;
    * no per-recipient rate limit: the dedupe key already allows one digest per
      address and day, and the addresses are our own staff, who might well have
      had five test receipts within the hour. A suppressed row is never sent
      later, so a limit here would lose the day's digest for nothing.
    """
    if not staff:
        raise DigestError("no staff addresses: set [outbox] staff = [\"...\"] in the settings")
    digest = digest or build(session, pool, now, web_url)
    day = now.astimezone(pool.timezone).date()
    queued = []
    for address in staff:
        rendered = build_message(sender=sender, to_addr=address, to_name=None, subject=digest.subject,
                                 text=digest.text, html=digest.html, now=now,
                                 auto_submitted="auto-generated")
        _, new = outbox.enqueue(session, dedupe_key=dedupe_key(day, address), purpose=OutboxPurpose.DIGEST,
                                recipient=address, rendered=rendered, now=now, limits=None)
        if new:
            queued.append(address)
    record_sent(session, now, {"date": day.isoformat(), "queued": queued})
    return queued


def due(session: Session, tz: dt.tzinfo, now: dt.datetime, hour_local: float = DEFAULT_HOUR) -> bool:
    """True when today's digest time (local) has passed and none was sent today."""
    local = now.astimezone(tz)
    at = dt.datetime.combine(local.date(), dt.time(0), tzinfo=tz) + dt.timedelta(hours=hour_local)
    if local < at:
        return False
    last = last_digest_at(session)
    return last is None or last.astimezone(tz).date() < local.date()


def run_scheduled(session: Session, pool: PoolCalendar, now: dt.datetime, staff: Sequence[str],
                  sender: Sender,
                  hour_local: float = DEFAULT_HOUR, web_url: str = "") -> list[str] | None:
    """The daily job: send the digest if it is due; None when it was not due (or no staff)."""
    if not due(session, pool.timezone, now, hour_local):
        return None
    if not staff:
        log.warning("digest due but [outbox] staff is empty: nothing sent")
        return None
    return send(session, pool, now, staff, sender, web_url=web_url)
