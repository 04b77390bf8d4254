"""The command line: ``pulje-intake COMMAND``. Exit codes: 0 done, 1 user error, 75 try later
(a server unreachable, or another worker on the same SQLite database)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from intake import logs, progress
from intake.commands import operating
from intake.errors import ConfigError, IntakeError, TemporaryFailure
from intake.settings import load_settings
from store.files import UMASK

if TYPE_CHECKING:  # the wiring is imported by the commands that need it
    from intake.app import App


def _app(args: argparse.Namespace) -> App:
    from intake.app import build_app

    app = build_app(load_settings(args.config))
    logs.set_timezone(app.pool.timezone)
    return app


def cmd_poll(args: argparse.Namespace) -> int:
    """One fetch pass over every source, then process what is stored."""
    from intake.service import PollReport, claim_database, poll_once

    app = _app(args)  # settings and data files checked first: their errors come first
    held = claim_database(app.settings)  # noqa: F841 - held until the process exits
    report = PollReport()
    try:
        poll_once(app, report)
    finally:  # what the other sources did, also when one failed
        print(report)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the service until SIGTERM/SIGINT."""
    from intake.service import Service, claim_database

    app = _app(args)
    held = claim_database(app.settings)  # noqa: F841 - held until the process exits
    Service(app).run_forever()
    return 0


def cmd_cases_list(args: argparse.Namespace) -> int:
    """List cases, newest last, and a line about mail that made no case."""
    from intake.commands import views

    app = _app(args)
    with app.context.factory() as s:
        print(views.cases_table(s, app.pool, kind=args.kind, status=args.status))
        if args.triage:
            print()
            print(views.messages_table(s, app.pool))
        else:
            print(views.messages_summary(s))
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    """Everything about one case."""
    from intake.commands import views
    from store import repository as repo

    app = _app(args)
    with app.context.factory() as s:
        case = repo.get_case(s, args.case_id)
        if case is None:
            raise ConfigError(f"no case {args.case_id}")
        print(views.case_detail(s, case, app.pool))
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    """Run the pure steps again on stored mail (all, or given message/case ids)."""
    from intake.cases.reprocess import reprocess

    app = _app(args)
    results = reprocess(app.context, args.ids)
    print("reprocessed: " + (", ".join(f"{k} {v}" for k, v in sorted(results.items())) or "nothing"))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest revision."""
    from intake.app import build_app
    from store import db

    app = build_app(load_settings(args.config), upgrade=True)
    print(f"database at revision {db.current_revision(app.engine)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check settings, database, IMAP logins and SMTP; print a verdict."""
    from intake.commands.checkup import run_checks

    return run_checks(args.config)


def cmd_rules(args: argparse.Namespace) -> int:
    """Every check: code, severity, field and the Danish text applicants get."""
    from intake.commands.reference import rules_listing

    print(rules_listing())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A complete run on generated sample mail in a temporary folder."""
    from intake.commands.demo import run_demo

    return run_demo(args.dir)


def cmd_remind(args: argparse.Namespace) -> int:
    """Queue the reminders due now and send them; with --dry-run only list them."""
    from intake.outbox import drain_outbox, remind

    app = _app(args)
    planned = remind(app, dry_run=args.dry_run)
    for p in planned:
        print(f"{p.case_id}  {p.reminder_id}  {p.recipient}  {p.state}")
    print(f"{len(planned)} reminder(s) {'would be queued (dry run, nothing written)' if args.dry_run else 'queued'}")
    if not args.dry_run:
        print(drain_outbox(app))
    return 0


def _add_notify_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rm = sub.add_parser("remind", help="queue and send the reminders due now")
    rm.add_argument("--dry-run", action="store_true", help="list what would be sent, write nothing")
    rm.set_defaults(func=cmd_remind)


def cmd_templates(args: argparse.Namespace) -> int:
    """Write the official application form (PDF) and budget template (XLSX)."""
    from pathlib import Path

    from intake.documents.templates import write_templates

    try:
        paths = write_templates(Path(args.out))
    except OSError as exc:
        raise ConfigError(f"cannot write the templates to {args.out}: {exc.strerror or exc}") from exc
    for path in paths:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    p = argparse.ArgumentParser(
        prog="pulje-intake",
        description="Intake for 'Pulje til sociale viceværter': mail in, cases out.",
    )
    p.add_argument("--config", "-c", help="settings file (default: $PULJE_INTAKE_CONFIG)")
    p.add_argument("--verbose", "-v", action="count", default=0,
                   help="debug lines too (-vv: also from the libraries)")
    p.add_argument("--quiet", "-q", action="store_true", help="log only warnings and errors")
    p.add_argument("--log-format", choices=logs.FORMATS, default="text",
                   help="text (local time on a terminal, none under systemd) or json, one object per line")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("poll", help="fetch new mail once, process it, exit").set_defaults(func=cmd_poll)
    sub.add_parser("run", help="run the service until SIGTERM").set_defaults(func=cmd_run)

    cases = sub.add_parser("cases", help="what intake made of the mail")
    csub = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    lst = csub.add_parser("list", help="list cases")
    lst.add_argument("--kind", help="only this kind (application, report, documentation)")
    lst.add_argument("--status", help="only this status")
    lst.add_argument("--triage", action="store_true", help="also list mail that made no case, with reasons")
    lst.set_defaults(func=cmd_cases_list)
    show = csub.add_parser("show", help="show one case")
    show.add_argument("case_id", metavar="ID")
    show.set_defaults(func=cmd_cases_show)

    rp = sub.add_parser("reprocess", help="run the pure steps again on stored mail")
    rp.add_argument("ids", nargs="*", metavar="ID", help="case ids (PSV-2025-0001) or message numbers; none = all")
    rp.set_defaults(func=cmd_reprocess)

    dbp = sub.add_parser("db", help="database maintenance")
    dsub = dbp.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    operating.add_commands(sub, _app, dsub)  # status, quarantine, db copy

    sub.add_parser("check", help="check settings, database and servers").set_defaults(func=cmd_check)
    sub.add_parser("rules", help="every check with its code, severity, field and Danish text"
                   ).set_defaults(func=cmd_rules)

    # staff: digest, committee export, decisions (intake/commands/staff.py)
    def staff() -> ModuleType:  # imported when a staff command runs, not for every command
        from intake.commands import staff as module

        return module

    dg = sub.add_parser("digest", help="the staff digest (text to stdout unless --out/--send)")
    dg.add_argument("--out", metavar="FILE", help="write the HTML to FILE and the text to FILE.txt (a preview)")
    dg.add_argument("--send", action="store_true",
                    help="send it to [outbox] staff now (queued, then the outbox drained)")
    dg.set_defaults(func=lambda a: staff().digest_command(_app(a), a.out, a.send))
    ex = sub.add_parser("export", help="committee spreadsheet (xlsx) or all cases (json)")
    ex.add_argument("--format", choices=("xlsx", "json"), required=True)
    ex.add_argument("--out", metavar="FILE", required=True, help="output file ('-' = stdout, json only)")
    ex.set_defaults(func=lambda a: staff().export_command(_app(a), a.format, a.out))
    dc = sub.add_parser("decisions", help="committee decisions")
    dcs = dc.add_subparsers(dest="decisions_command", required=True, metavar="ACTION")
    di = dcs.add_parser("import", help="read decisions from the filled-in committee spreadsheet")
    di.add_argument("file", metavar="FILE")
    di.set_defaults(func=lambda a: staff().decisions_import_command(_app(a), a.file))
    from intake.commands.grantcommands import add_parsers as add_grant_parsers

    add_grant_parsers(sub, dcs, _app)  # decisions letters, documentation, payouts

    demo = sub.add_parser("demo", help="a complete run on generated sample mail")
    demo.add_argument("--dir", help="work folder (default: a new temporary folder)")
    demo.set_defaults(func=cmd_demo)
    _add_notify_commands(sub)
    from intake.commands.webcommands import add_parsers as add_web_parsers

    add_web_parsers(sub, _app)

    tpl = sub.add_parser("templates", help="write the official application form and budget template")
    tpl.add_argument("--out", required=True, metavar="DIR", help="folder to write them into")
    tpl.set_defaults(func=cmd_templates)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    # files with applicants' data are never world-readable (explicit modes besides: store/files.py)
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    logs.setup(args.verbose, args.quiet, args.log_format)
    progress.use_bars(sys.stderr.isatty() and args.log_format == "text")
    try:
        code: int = args.func(args)
        return code
    except TemporaryFailure as exc:
        print(f"pulje-intake: temporary failure: {exc}", file=sys.stderr)
        return exc.exit_code
    except IntakeError as exc:
        print(f"pulje-intake: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
