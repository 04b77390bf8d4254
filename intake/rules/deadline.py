"""Arrival after the deadline, judged by the server's arrival time in the pool's time zone."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from intake.rules.base import Arrival, Rule
from parsers import danish
from parsers.codes import Finding, ProblemCode


class _AfterDeadline(Rule[Arrival]):
    """Late when the server received the mail after the deadline day ended (local time)."""

    deadline: ClassVar[str]  # a date of the pool file's [dates]
    params = frozenset({"received", "deadline"})

    def check(self, subject: Arrival) -> list[Finding]:
        """A finding when the mail arrived after the deadline day."""
        end = subject.pool.deadline_end(self.deadline)
        if subject.received_at < end:
            return []
        last_moment = end - dt.timedelta(minutes=1)
        tz = subject.pool.timezone
        return [self.found(None, received=danish.datetime_da(subject.received_at, tz),
                           deadline=danish.datetime_da(last_moment, tz))]


class Late(_AfterDeadline):
    """An application that arrived after the application deadline cannot be considered."""

    code = ProblemCode.LATE
    deadline = "application_deadline"
    description = "The application arrived after the application deadline day (server time, local zone)."


class ReportLate(_AfterDeadline):
    """A final report that arrived after the report deadline (staff look at it)."""

    code = ProblemCode.REPORT_LATE
    deadline = "report_deadline"
    description = "The final report arrived after the report deadline day (server time, local zone)."
