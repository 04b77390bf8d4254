"""A real Dovecot IMAP server for tests: start, stop, crash, restart, and put mail in.

Facts this relies on are in DESIGN.md ("Running a real IMAP server in tests"):
the server runs in its own process group (``start_new_session``) and is stopped
by signalling the whole group, because connected ``imap`` processes would keep
answering otherwise; a restart on the same folders and port keeps UIDVALIDITY.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from imapclient import IMAPClient

USER = "pulje"
PASSWORD = "secret"
# settings name the variable, never the password (see intake/settings.py)
PASSWORD_ENV = "PULJE_TEST_IMAP_PASSWORD"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
# tests try wrong passwords on purpose: no 2 s delay, no growing per-IP penalty
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_uid = {mail_user}
mail_gid = {mail_group}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{dir}/mail/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service ipc {{
  chroot =
}}
"""


def dovecot_binary() -> str | None:
    """Path of the ``dovecot`` master binary, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 in ``folder`` (``cert.pem``, key in ``key.pem``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert


def to_crlf(raw: bytes) -> bytes:
    """Mail on the wire has CRLF line ends; Dovecot returns CRLF, so append CRLF to compare bytes."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# Dovecot's oauth2 password database asks a token-introspection endpoint about
# every XOAUTH2/OAUTHBEARER login (DESIGN.md, "Mailboxes at hosted providers")
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/oauth2.conf
}}
"""
OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


class Dovecot:
    """One Dovecot instance in ``root`` listening on 127.0.0.1:``port``, user pulje/secret.

    With ``introspection_url`` it also takes XOAUTH2 and OAUTHBEARER logins and asks
    that endpoint whether a token is good (``tests/oauth_server.py`` serves one).
    """

    def __init__(self, root: Path, port: int | None = None, tls: bool = False,
                 extra_config: str = "", introspection_url: str | None = None):
        self.root = Path(root)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        # with tls: STARTTLS on ``port``, implicit TLS on ``tls_port``, and a
        # self-signed certificate for 127.0.0.1 in ``cert`` (trust it via SSL_CERT_FILE)
        self.tls_port = free_port() if tls else 0
        self.cert: Path | None = self._make_certificate() if tls else None
        self.extra_config = extra_config  # appended to dovecot.conf, e.g. imap_capability
        self.introspection_url = introspection_url
        self.user, self.password = USER, PASSWORD
        self.proc: subprocess.Popen | None = None
        self._write_config()

    def _write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            # as root, Dovecot drops to its own users; they must read the users file and own the mail
            internal, login, mail = "dovecot", "dovenull", "dovecot"
            groups = ("dovecot", "dovecot")
        else:  # as another user, everything runs as that user
            me = pwd.getpwuid(os.geteuid()).pw_name
            internal = login = mail = me
            groups = (me, me)
        (self.root / "mail").mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root / "mail", "dovecot", "dovecot")
        users = self.root / "users"
        users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
        users.chmod(0o644)
        ssl = "ssl = no"
        if self.cert is not None:
            ssl = f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.root / 'key.pem'}"
        mechanisms, oauth2 = "plain login", ""
        if self.introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            oauth2 = OAUTH2_PASSDB.format(dir=self.root)
            conf = self.root / "oauth2.conf"
            conf.write_text(OAUTH2_CONF.format(url=self.introspection_url), encoding="utf-8")
            conf.chmod(0o644)
        self.config = self.root / "dovecot.conf"
        self.config.write_text(CONFIG.format(
            dir=self.root, port=self.port, tls_port=self.tls_port, ssl=ssl, internal_user=internal, internal_group=groups[0],
            login_user=login, mail_user=mail, mail_group=groups[1], mechanisms=mechanisms, oauth2_passdb=oauth2,
        ) + self.extra_config + "\n", encoding="utf-8")

    def _make_certificate(self) -> Path:
        return make_certificate(self.root)

    @property
    def maildir(self) -> Path:
        """The user's Maildir (INBOX), as Dovecot lays it out."""
        return self.root / "mail" / USER / "Maildir"

    def start(self, timeout: float = 10.0) -> Dovecot:
        """Start the server and return once it greets with ``* OK``."""
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed")
        self.proc = subprocess.Popen(
            [binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}: {err}{self.log()}")
            if self._greets():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"dovecot did not greet within {timeout} s:\n{self.log()}")

    def _greets(self) -> bool:
        # the port may accept before the server is ready: wait for the greeting itself
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                return s.recv(100).startswith(b"* OK")
        except OSError:
            return False

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        # children of the group (imap, auth) may outlive the master for a moment
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._greets():
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the whole process group gracefully."""
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """Crash the server: SIGKILL to every process of its group."""
        self._signal_group(signal.SIGKILL)

    def restart(self) -> Dovecot:
        """Start again on the same port and folders (after :meth:`stop` or :meth:`kill`).

        A SIGKILL can leave a dotlock (``dovecot-uidlist.lock``) of a dead process
        behind; Dovecot waits minutes before it calls such a lock stale. Every
        process of the old server is gone, so the locks are removed here, as a
        host reboot would clear them.
        """
        if self.proc is not None:
            self.stop()
        for lock in (self.root / "mail").rglob("*.lock"):
            lock.unlink(missing_ok=True)
        return self.start()

    def kick(self, user: str = USER) -> None:
        """End every session of ``user``, as Exchange Online does when a session's token expires."""
        subprocess.run([shutil.which("doveadm") or "/usr/bin/doveadm", "-c", str(self.config), "kick", user],
                       check=True, capture_output=True)

    def log(self) -> str:
        """Dovecot's own log, for failure messages."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> IMAPClient:
        """A logged-in IMAPClient (use as a context manager, or call ``logout()``)."""
        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        c.login(self.user, self.password)
        return c

    def create_folder(self, name: str) -> None:
        """Create a folder unless it exists."""
        with self.client() as c:
            if not c.folder_exists(name):
                c.create_folder(name)

    def delete_folder(self, name: str) -> None:
        """Delete a folder and its mail (gives a new UIDVALIDITY when it is created again)."""
        with self.client() as c:
            c.delete_folder(name)

    def append(self, raw: bytes, internaldate: dt.datetime, folder: str = "INBOX",
               flags: tuple[str, ...] = ()) -> int:
        """APPEND a message with an INTERNALDATE; return its UID (from APPENDUID)."""
        with self.client() as c:
            resp = c.append(folder, raw, flags=flags, msg_time=internaldate)
        # b'[APPENDUID 1700000000 7] Append completed.'
        return int(resp.split(b"]")[0].split()[-1])

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID → flags (as str) of every message in a folder."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            data = c.get_flags(c.search(["ALL"]))
        return {uid: {f.decode() for f in fl} for uid, fl in data.items()}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The folder's UIDVALIDITY."""
        with self.client() as c:
            return c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]


def imap_source_toml(server: Dovecot, name: str = "pulje", **options) -> str:
    """A ``[[sources]]`` table for ``server``; ``options`` add or override keys.

    A key given as None is left out; a dict becomes a sub-table (``oauth2={...}``).
    """
    values = {
        "type": "imap", "name": name, "host": server.host, "port": server.port,
        "security": "plain", "username": USER, "password_env": PASSWORD_ENV,
        "timeout_seconds": 10, "reconnect_max_seconds": 2,
    }
    values.update(options)

    def toml(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):  # a JSON string is a TOML basic string
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(toml(x) for x in v) + "]"
        return str(v)

    plain = {k: v for k, v in values.items() if v is not None and not isinstance(v, dict)}
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    return "[[sources]]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in plain.items()) + "".join(
        f"[sources.{k}]\n" + "".join(f"{kk} = {toml(vv)}\n" for kk, vv in table.items())
        for k, table in tables.items())
