"""The ``[web]`` settings table: where the staff web page listens, how staff reach it, logins.

Read by ``intake.settings`` (which hands over its table reader, so errors name
the file and key like every other setting).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from intake.errors import ConfigError
from intake.secrets import SecretRef
from intake.tables import Table


@dataclass(frozen=True)
class WebSettings:
    """The staff web page (``pulje-intake web``): where it listens, how it is reached, logins."""

    listen: str = "127.0.0.1"
    port: int = 8080
    # the address staff open (behind the reverse proxy): links in the digest; https → Secure cookies
    base_url: str = "http://127.0.0.1:8080"
    secret: SecretRef = SecretRef(key="secret_key")  # secret_key_env or secret_key_file
    session_hours: float = 12.0
    max_failed_logins: int = 5
    lockout_minutes: float = 15.0
    # single sign-on through an authenticating proxy: off unless both are set
    trusted_proxies: tuple[str, ...] = ()
    proxy_user_header: str | None = None

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over TLS when staff reach the page over https."""
        return self.base_url.lower().startswith("https://")

    def secret_key(self) -> str | None:
        """The key that signs sessions, from the environment or a file; None: keep one in the database."""
        value = self.secret.read("[web]")
        if value is not None and len(value) < 32:
            raise ConfigError(f"[web]: the secret key ({self.secret.key}_env or _file) must hold "
                              "at least 32 characters")
        return value


def parse_web(t: Table, base: Path) -> WebSettings:
    """Validate the ``[web]`` table (``t``: the settings reader's table, with file and key in errors)."""
    t.check_unknown({"listen", "port", "base_url", "secret_key_env", "secret_key_file",
                     "session_hours", "max_failed_logins", "lockout_minutes", "trusted_proxies",
                     "proxy_user_header"})
    listen = t.get("listen", str, "127.0.0.1")
    port = t.get("port", int, 8080)
    if not 0 < port < 65536:
        raise t._err("port", f"must be a port number (1 to 65535), got {port}")
    host = f"[{listen}]" if ":" in listen else listen
    base_url = t.get("base_url", str, f"http://{host}:{port}").rstrip("/")
    if not base_url.lower().startswith(("http://", "https://")):
        raise t._err("base_url", f"must start with https:// (or http://), got {base_url!r}")
    proxies = t.get("trusted_proxies", list, [])
    for p in proxies:
        try:
            ipaddress.ip_network(p, strict=False)
        except (TypeError, ValueError):
            raise t._err("trusted_proxies", f"expected IP addresses or networks, got {p!r}") from None
    header = t.get("proxy_user_header", str, None)
    if header and not proxies:
        raise t._err("proxy_user_header", "needs trusted_proxies: the header is believed only from them")
    values = {}
    for name, default, low in (("session_hours", 12.0, 0.0), ("lockout_minutes", 15.0, 0.0)):
        values[name] = t.get(name, float, default)
        if values[name] <= low:
            raise t._err(name, f"must be above 0, got {values[name]:g}")
    attempts = t.get("max_failed_logins", int, 5)
    if attempts < 1:
        raise t._err("max_failed_logins", f"must be at least 1, got {attempts}")
    return WebSettings(
        listen=listen, port=port, base_url=base_url,
        secret=t.secret(base, key="secret_key"),
        max_failed_logins=attempts, trusted_proxies=tuple(proxies), proxy_user_header=header,
        **values,
    )
