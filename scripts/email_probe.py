"""Exit 0 when this Python's email package cannot be made to write a header line break.

CVE-2024-6923: before 3.11.10 / 3.12.5 the email generator wrote an encoded
word's CR/LF into a header as a real line break, so a subject such as
``=?utf-8?q?a=0D=0ABcc:_x@example.com?=`` became a ``Bcc:`` line. Debian's
``/usr/bin/python3`` has the fix backported whatever its version number says,
so the scripts check the behaviour: exit 1 when the line break comes through,
2 when the Python is older than 3.11. (intake makes every header safe itself,
notifications/render.py; this keeps the interpreter from being the weak link.)
"""

import email.policy
import sys
from email.message import EmailMessage

if sys.version_info < (3, 11):  # noqa: UP036  (the probe runs on any python3 found)
    sys.exit(2)
msg = EmailMessage(policy=email.policy.SMTP)
try:
    msg["Subject"] = "=?utf-8?q?Ansoegning=0D=0AX-Injected:_yes?="
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0]
except Exception:  # refusing the value is safe too
    sys.exit(0)
sys.exit(1 if b"\nX-Injected:" in head else 0)
