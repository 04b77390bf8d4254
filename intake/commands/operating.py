"""The operator's commands: ``status``, ``quarantine list|show|release``, ``db copy``.

Kept apart from ``cli.py`` so that the command line's table of commands stays
short; each handler builds the app only when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from intake.app import App

AppFactory = Callable[[argparse.Namespace], "App"]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], make_app: AppFactory,
                 db_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the operator's commands to the command line (``db copy`` under ``db``)."""
    st = sub.add_parser("status", help="last fetch per folder, what waits, the outbox, next jobs; "
                                       "exit 1 when unhealthy")
    st.set_defaults(func=lambda a: _status(make_app(a)))

    q = sub.add_parser("quarantine", help="mail the worker gave up on")
    qs = q.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    qs.add_parser("list", help="every quarantined mail").set_defaults(
        func=lambda a: _quarantine("list", make_app(a), a))
    show = qs.add_parser("show", help="why, the headers, the attachments (marks it seen)")
    show.add_argument("id", metavar="ID", help="the message number (quarantine list)")
    show.set_defaults(func=lambda a: _quarantine("show", make_app(a), a))
    rel = qs.add_parser("release", help="process it again (after a fix), or as the kind you say")
    rel.add_argument("id", metavar="ID", help="the message number (quarantine list)")
    rel.add_argument("--as", dest="kind", choices=("application", "report", "triage"),
                     help="make it this kind of mail, whatever its subject says")
    rel.set_defaults(func=lambda a: _quarantine("release", make_app(a), a))

    cp = db_sub.add_parser("copy", help="copy every row into a new database (e.g. SQLite to PostgreSQL)")
    cp.add_argument("--to", required=True, metavar="URL", help="the new database's URL; it must be empty")
    cp.add_argument("--to-password-env", metavar="VAR", help="the new database's password, from this variable")
    cp.set_defaults(func=lambda a: _db_copy(a, make_app(a)))


def _quarantine(action: str, app: App, args: argparse.Namespace) -> int:
    from intake.commands import quarantine

    if action == "list":
        print(quarantine.list_quarantine(app))
    elif action == "show":
        print(quarantine.show(app, args.id))
    else:
        print(quarantine.release(app, args.id, args.kind))
    return 0


def _status(app: App) -> int:
    from intake.commands.status import status_command

    return status_command(app)


def _db_copy(args: argparse.Namespace, app: App) -> int:
    from intake.commands.dbcopy import copy_command

    return copy_command(app, args.to, args.to_password_env)
