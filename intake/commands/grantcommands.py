"""Following a grant to its end: decision letters, a quarter's documentation, the payout list.

* ``decisions letters [--out DIR] [--send]`` — what would go (and the PDFs for
  review), then queue and send them;
* ``documentation list|approve|reject`` — the quarters of the grants, and staff's
  decision on one (``intake.grants.quarters.decide``, as the web page will);
* ``payouts --quarter 2026Q1 --out FILE [--list N]`` — the payout list for finance.

The work is done in ``intake/grants/`` and ``intake/committee/payouts.py``; this
module wires it to the settings, the database and the command line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from intake.app import App
from intake.errors import ConfigError
from parsers.danish import kroner
from store.db import transaction

AppFactory = Callable[[argparse.Namespace], App]


def _by(args: argparse.Namespace) -> str:
    """Who is acting: ``--by``, else the login name."""
    return str(args.by or os.environ.get("SUDO_USER") or getpass.getuser())


def letters_command(app: App, out: str | None, send: bool, by: str) -> int:
    """``decisions letters``: list what is due, write the PDFs with ``--out``, queue with ``--send``."""
    from intake.grants import letters
    from intake.outbox import drain_outbox, receipt_setup
    from notifications.letters import subject

    setup = receipt_setup(app.settings, app.pool)
    now = app.context.now()
    with transaction(app.context.factory) as s:
        due = letters.pending(s, app.pool, setup)
        for p in due:
            what = f"{'rettet ' if p.correction else ''}{p.facts.kind}"
            amount = f"  {kroner(p.facts.amount)}" if p.facts.amount is not None else ""
            note = f"  IKKE SENDT: {p.skip}" if p.skip else ""
            plan = f"  (ingen kvartalsplan: {p.plan_problem})" if p.plan_problem else ""
            print(f"{p.case_id}  {what:<17} {p.facts.recipient or '-'}  {p.org_name}{amount}{plan}{note}")
            print(f"    emne: {subject(p.facts, app.pool.name)}")
        if out:
            for path in letters.write_pdfs(due, setup, now, Path(out)):
                print(f"    {path}")
        if not due:
            print("ingen afgørelsesbreve venter")
        if send:
            queued = letters.send(s, app.pool, setup, now, by)
            held = [p for p in due if p.skip]
            print(f"{len(queued)} brev(e) lagt i udbakken" + (f"; {len(held)} kan ikke sendes (se ovenfor): "
                                                            "skriv til dem selv" if held else ""))
        elif due:
            print(f"{len(due)} brev(e) venter; kør med --send for at sende dem")
    if send:
        print(drain_outbox(app))
    return 0


def documentation_list(app: App, quarter: str | None) -> int:
    """``documentation list``: every grant's quarters that have documentation or a decision."""
    from intake.grants.quarters import parse_quarter
    from store import grants

    wanted = parse_quarter(quarter, app.pool).id if quarter else None
    rows = 0
    with app.context.factory() as s:
        for case in grants.granted(s):
            for q in grants.quarters_of(s, case.id):
                if wanted and q.quarter != wanted:
                    continue
                rows += 1
                paid = grants.payout_of(s, q)
                extra = f"  {kroner(q.amount)}" if q.amount else ""
                extra += f"  på udbetalingsliste {paid.list_pk}" if paid else ""
                extra += "  (kvartal udledt af modtagelsesdato)" if q.inferred else ""
                extra += f"  begrundelse: {q.reason}" if q.reason else ""
                who = f" af {q.decided_by}" if q.decided_by else ""
                print(f"{case.case_id}  {q.quarter}  {q.state}{who}{extra}  {case.org_name or ''}")
    if not rows:
        print("ingen kvartaler med dokumentation endnu")
    return 0


def documentation_decide(app: App, case_id: str, quarter: str, approve: bool, reason: str | None,
                         by: str) -> int:
    """``documentation approve|reject``: staff's decision on a quarter, mailed to the grantee."""
    from intake.grants.quarters import QuarterError, decide
    from intake.outbox import drain_outbox, receipt_setup

    try:
        with transaction(app.context.factory) as s:
            done = decide(s, app.pool, receipt_setup(app.settings, app.pool), case_id, quarter, approve,
                          by, app.context.now(), reason)
    except QuarterError as exc:
        raise ConfigError(str(exc)) from None
    if not done.changed:
        print(f"{done.case_id} {done.quarter.id} var allerede {done.state}; intet ændret")
        return 0
    amount = f": {kroner(done.amount)}" if done.amount is not None else ""
    print(f"{done.case_id} {done.quarter.id} {done.state}{amount}; besked til tilskudsmodtageren: {done.notice}")
    print(drain_outbox(app))
    return 0


def payouts_command(app: App, quarter: str | None, out: str, list_id: int | None) -> int:
    """``payouts``: write the quarter's payout list (or an earlier list again with ``--list``)."""
    from intake.committee import payouts

    path = Path(out)
    if list_id is not None:
        with app.context.factory() as s:
            result = payouts.earlier(s, list_id, app.pool)
        data = payouts.file_bytes(path, result.rows)
        payouts.publish(payouts.write_atomically(path, data), path)
        print(f"udbetalingsliste nr. {list_id} ({result.quarter.id}) skrevet igen: {path}, "
              f"{len(result.rows)} udbetaling(er), i alt {kroner(result.total)}")
        return 0
    if not quarter:
        raise ConfigError("payouts: give --quarter (e.g. 2026Q1), or --list N to write an earlier list again")
    with transaction(app.context.factory) as s:
        result = payouts.collect(s, app.pool, quarter)
        tmp = payouts.write_atomically(path, payouts.file_bytes(path, result.rows))
        try:
            if result.rows:
                payouts.record(s, result, str(path), app.context.now())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    payouts.publish(tmp, path)
    for case_id, why in result.held_back:
        print(f"  {case_id}: kan ikke udbetales: {why}", file=sys.stderr)
    listed = f"udbetalingsliste nr. {result.list_id}" if result.list_id else "ingen nye udbetalinger"
    print(f"{result.quarter.id}: {listed}: {path}, {len(result.rows)} udbetaling(er), i alt {kroner(result.total)}")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                decisions: argparse._SubParsersAction[argparse.ArgumentParser], app: AppFactory) -> None:
    """``decisions letters``, ``documentation …`` and ``payouts``."""
    lt = decisions.add_parser("letters", help="decision letters: list what would go, --out DIR for the PDFs, "
                                              "--send to send them")
    lt.add_argument("--out", metavar="DIR", help="write each letter as a PDF into DIR for review")
    lt.add_argument("--send", action="store_true", help="queue and send the letters (each decision once)")
    lt.add_argument("--by", help="who releases them (default: your login name)")
    lt.set_defaults(func=lambda a: letters_command(app(a), a.out, a.send, _by(a)))

    doc = sub.add_parser("documentation", help="a grant's quarterly documentation: list, approve, reject")
    dsub = doc.add_subparsers(dest="documentation_command", required=True, metavar="ACTION")
    ls = dsub.add_parser("list", help="the quarters with documentation or a decision")
    ls.add_argument("--quarter", help="only this quarter (e.g. 2026Q1)")
    ls.set_defaults(func=lambda a: documentation_list(app(a), a.quarter))
    for action, approve in (("approve", True), ("reject", False)):
        p = dsub.add_parser(action, help=f"{action} a quarter's documentation (the grantee is told)")
        p.add_argument("case_id", metavar="CASE", help="the grant (PSV-2025-0001) or its documentation case")
        p.add_argument("quarter", metavar="QUARTER", help="e.g. 2026Q1")
        p.add_argument("--reason", required=not approve, help="why (sent to the grantee)")
        p.add_argument("--by", help="who decides (default: your login name)")
        p.set_defaults(func=lambda a, approve=approve: documentation_decide(
            app(a), a.case_id, a.quarter, approve, a.reason, _by(a)))

    po = sub.add_parser("payouts", help="the payout list of a quarter for finance (.xlsx or .csv)")
    po.add_argument("--quarter", help="e.g. 2026Q1")
    po.add_argument("--out", metavar="FILE", required=True, help="FILE.xlsx or FILE.csv")
    po.add_argument("--list", type=int, metavar="N", dest="list_id", help="write payout list N again")
    po.set_defaults(func=lambda a: payouts_command(app(a), a.quarter, a.out, a.list_id))
