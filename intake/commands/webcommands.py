"""``pulje-intake web`` and ``pulje-intake users add|remove|list``: the staff page and its accounts."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from intake.app import App
from intake.errors import ConfigError
from store import accounts
from store.db import transaction


def web_command(app: App) -> int:
    """Serve the staff web page until stopped."""
    from intake.web.app import serve

    web = app.settings.web
    with app.context.factory() as s:
        if not accounts.count_users(s) and not web.proxy_user_header:
            print("no staff accounts yet: add one with 'pulje-intake users add NAME'", file=sys.stderr)
    print(f"staff web page on http://{web.listen}:{web.port}/ (staff open {web.base_url}/)", flush=True)
    serve(app)
    return 0


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice at a terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to type the password at: use --password-stdin")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ; nothing changed")
    return first


def users_add(app: App, username: str, from_stdin: bool) -> int:
    """Create a staff account (or set a new password for an existing one)."""
    password = _read_password(from_stdin)
    try:
        with transaction(app.context.factory) as s:
            existed = accounts.get_user(s, username) is not None
            user = accounts.add_user(s, username, password, app.context.now())
            name = user.username
    except accounts.AccountError as exc:
        raise ConfigError(str(exc)) from None
    print(f"{'new password for' if existed else 'added'} {name}")
    return 0


def users_remove(app: App, username: str) -> int:
    """Delete a staff account; their sessions end at their next request."""
    with transaction(app.context.factory) as s:
        if not accounts.remove_user(s, username):
            raise ConfigError(f"no user {accounts.normalise(username)}")
    print(f"removed {accounts.normalise(username)}")
    return 0


def users_list(app: App) -> int:
    """Every staff account and when it last logged in."""
    from intake.commands.views import local

    with app.context.factory() as s:
        users = accounts.list_users(s)
        for u in users:
            print(f"{u.username}  created {local(u.created_at, app.pool)}  "
                  f"last login {local(u.last_login_at, app.pool)}")
        if not users:
            print("no staff accounts")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                make_app: Callable[[argparse.Namespace], App]) -> None:
    """The ``web`` and ``users`` commands (``make_app(args)`` builds the App)."""
    web = sub.add_parser("web", help="serve the staff web page ([web] listen/port)")
    web.set_defaults(func=lambda a: web_command(make_app(a)))
    users = sub.add_parser("users", help="staff accounts for the web page")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = usub.add_parser("add", help="add an account, or set a new password")
    add.add_argument("username", metavar="NAME")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add.set_defaults(func=lambda a: users_add(make_app(a), a.username, a.password_stdin))
    rm = usub.add_parser("remove", help="delete an account")
    rm.add_argument("username", metavar="NAME")
    rm.set_defaults(func=lambda a: users_remove(make_app(a), a.username))
    usub.add_parser("list", help="list the accounts").set_defaults(func=lambda a: users_list(make_app(a)))
