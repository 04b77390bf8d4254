"""``demo``: a complete run on generated sample mail, with no server at all."""

from __future__ import annotations

import tempfile
from pathlib import Path

from intake.samples import demo_mail, write_maildir

SETTINGS = """\
pool = "sociale-viceværter-2025"

[database]
url = "sqlite:///pulje-intake.db"

[[sources]]
type = "maildir"
name = "demo"
path = "mail"

[outbox]
mode = "files"
dir = "outbox"
max_receipt_age_hours = 1000000
"""


def run_demo(directory: str | None = None) -> int:
    """Write sample mail and settings into a folder, poll once, and show the result."""
    from intake import views
    from intake.app import build_app
    from intake.service import poll_once
    from intake.settings import load_settings

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="pulje-intake-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    write_maildir(root / "mail", demo_mail())
    settings_file = root / "settings.toml"
    settings_file.write_text(SETTINGS, encoding="utf-8")
    app = build_app(load_settings(settings_file))
    print(f"demo folder: {root}")
    print(poll_once(app))
    print()
    with app.context.factory() as s:
        print(views.cases_table(s, app.pool))
        print()
        print(views.messages_table(s, app.pool))
    print()
    print(f"settings:  {settings_file}")
    print(f"receipts:  {app.settings.outbox.dir} ({len(list(app.settings.outbox.dir.glob('*.eml')))} mail(s) as .eml files)")
    print(f"try:       pulje-intake --config {settings_file} cases show {app.pool.case_prefix}-{app.pool.case_year}-0001")
    return 0
