"""Glue for what staff read and return: the digest, the exports, committee decisions.

The work is done in ``notifications/digest.py`` and ``intake/committee/`` (export,
decisions); this module only wires it to the settings, the database and the command line.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from intake.app import App
from intake.errors import ConfigError
from store.db import transaction
from store.files import open_private, write_private

log = logging.getLogger(__name__)

def digest_command(app: App, out: str | None, send: bool) -> int:
    """``digest``: print the text (no options), write HTML and text (--out), send to staff (--send).

    Only ``--send`` moves the "new since the last digest" mark; ``--out`` alone is a preview.
    """
    from intake.outbox import sender_identity
    from notifications import digest

    outbox = app.settings.outbox
    now = app.context.now()
    with transaction(app.context.factory) as s:
        d = digest.build(s, app.pool, now, app.settings.web.base_url)
        if out:
            html_path = Path(out)
            html_path.parent.mkdir(parents=True, exist_ok=True)
            write_private(html_path, d.html)  # names and cases: 0640
            text_path = html_path.with_name(html_path.name + ".txt")
            write_private(text_path, d.text)
            print(f"digest written: {html_path} and {text_path}")
        if send:
            try:
                queued = digest.send(s, app.pool, now, outbox.staff, sender_identity(app.settings, app.pool),
                                     digest=d)
            except digest.DigestError as exc:
                raise ConfigError(str(exc)) from None
            skipped = [a for a in outbox.staff if a not in queued]
            print(f"digest queued for {len(queued)} address(es)"
                  + (f"; already queued today: {', '.join(skipped)}" if skipped else ""))
        if not out and not send:
            sys.stdout.write(d.text)
    if send:  # queued is not sent: the staff want it now, not at the next drain
        from intake.outbox import drain_outbox

        print(drain_outbox(app))
    return 0


def export_command(app: App, fmt: str, out: str) -> int:
    """``export``: the committee spreadsheet (xlsx) or every case as JSON (``-`` = stdout)."""
    from intake.committee import export

    with app.context.factory() as s:
        if fmt == "xlsx":
            if out == "-":
                raise ConfigError("export --format xlsx needs a file name for --out")
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            with open_private(out) as sheet:  # applicants' data: 0640
                n = export.write_xlsx(s, sheet)
            print(f"{n} application(s) written to {out}")
        elif out == "-":
            export.write_json(s, app.pool.timezone, sys.stdout)
        else:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            with open_private(out, "w", encoding="utf-8") as f:
                n = export.write_json(s, app.pool.timezone, f)
            print(f"{n} case(s) written to {out}")
    return 0


def decisions_import_command(app: App, file: str) -> int:
    """``decisions import``: all rows valid → recorded in one transaction; else nothing, exit 1."""
    from intake.committee.decisions import import_decisions

    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"{file}: file not found")
    with transaction(app.context.factory) as s:
        result = import_decisions(s, path, app.context.now())  # changes nothing unless all rows are valid
    if not result.ok:
        print(f"{path}: {len(result.errors)} fejl; intet er ændret:", file=sys.stderr)
        for error in result.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0
