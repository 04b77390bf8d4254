"""Progress of a long pass (a first import, a reprocess, a database copy).

Code that works through many items asks for a tracker, saying how many there
are, and advances it. What the tracker shows is chosen once by the command line
(:func:`use_bars`): on a terminal a progress bar with count, total and rate
(tqdm); everywhere else, the service included, a log line every :data:`EVERY`
items, so a long first import shows in the journal too. Short passes show nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

#: Without a terminal, a log line every this many items (and only for passes this long).
EVERY = 100
#: Fewer items than this get no bar: it would only flash.
BAR_MIN = 20

_bars = False


def use_bars(enabled: bool) -> None:
    """Show bars (the command line on a terminal) instead of log lines."""
    global _bars
    _bars = enabled


class Tracker:
    """Counts the items done of one pass and shows it (see the module docstring)."""

    def __init__(self, what: str, total: int, unit: str):
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self.started = time.monotonic()
        self._bar: Any = None
        if _bars and total >= BAR_MIN:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, dynamic_ncols=True,
                             mininterval=0.2)

    def advance(self, n: int = 1) -> None:
        """``n`` more items are done."""
        before, self.done = self.done, self.done + n
        if self._bar is not None:
            self._bar.update(n)
        elif self.total >= EVERY and before // EVERY != self.done // EVERY and self.done < self.total:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            log.info("%s: %d of %d %ss (%d %%), %.1f %ss/s", self.what, self.done, self.total, self.unit,
                     100 * self.done // self.total, self.done / elapsed, self.unit)

    def close(self) -> None:
        """The pass is over."""
        if self._bar is not None:
            self._bar.close()
        elif self.total >= EVERY:
            log.info("%s: %d of %d %ss in %.0f s", self.what, self.done, self.total, self.unit,
                     time.monotonic() - self.started)


@contextmanager
def track(what: str, total: int, unit: str = "mail") -> Iterator[Tracker]:
    """A tracker for ``total`` items, closed when the block ends."""
    tracker = Tracker(what, total, unit)
    try:
        yield tracker
    finally:
        tracker.close()
