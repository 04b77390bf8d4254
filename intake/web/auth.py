"""Who is logged in: signed session cookies, CSRF tokens, the lock-out, and an optional
user name from an authenticating reverse proxy.

* A session cookie (Starlette's ``SessionMiddleware``, signed with itsdangerous)
  holds the user name, when they logged in and a CSRF token. It is ``HttpOnly``,
  ``SameSite=Lax`` and, when staff reach the page over https, ``Secure``.
* Every form carries the CSRF token; a POST without the session's token is refused.
* Failed logins count per user name in the database (``store.accounts``).
* With ``[web] proxy_user_header`` set, a request *from one of*
  ``trusted_proxies`` that carries the header is logged in as that name (single
  sign-on through e.g. oauth2-proxy in front of Microsoft Entra ID). The header
  from anyone else is ignored.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote, urlsplit

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from intake.app import App
from intake.websettings import WebSettings
from store import accounts
from store.db import transaction
from store.models import JobState

SECRET_JOB = "web-session-key"


def session_secret(app: App) -> str:
    """The key that signs session cookies: from the settings, else one kept in the database.

    A key kept in the database survives restarts and is shared by every web
    process on the same database, so nobody is logged out by a restart.
    """
    configured = app.settings.web.secret_key()
    if configured:
        return configured
    factory = app.context.factory
    with transaction(factory) as s:
        row = s.get(JobState, SECRET_JOB)
        if row is not None and (row.data or {}).get("key"):
            return str(row.data["key"])
    try:
        with transaction(factory) as s:
            s.add(JobState(name=SECRET_JOB, last_run_at=app.context.now(),
                           data={"key": secrets.token_urlsafe(48)}))
    except IntegrityError:  # another web process made it just now
        pass
    with transaction(factory) as s:
        made = s.get(JobState, SECRET_JOB)
        if made is None:
            raise RuntimeError("the web page's session key could not be stored")
        return str(made.data["key"])


def _trusted(web: WebSettings, host: str | None) -> bool:
    if not host or not web.trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(p, strict=False) for p in web.trusted_proxies)


def proxy_user(request: Request, web: WebSettings) -> str | None:
    """The user name an authenticating proxy vouches for, if the request came from a trusted one."""
    if not web.proxy_user_header:
        return None
    client = request.client.host if request.client else None
    if not _trusted(web, client):
        return None
    name = (request.headers.get(web.proxy_user_header) or "").strip()
    return accounts.normalise(name)[:255] or None


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_ok(request: Request) -> bool:
    """True when the posted form carries the session's CSRF token."""
    form = await request.form()
    sent = str(form.get("csrf") or "")
    expected = request.session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def log_in(request: Request, username: str) -> None:
    """Start a fresh session for ``username`` (a new CSRF token: no fixation)."""
    request.session.clear()
    request.session.update({"user": username, "at": int(time.time()),
                            "csrf": secrets.token_urlsafe(32)})


def current_user(request: Request) -> str | None:
    """The logged-in user name, or None (expired sessions and removed accounts count as none)."""
    web: WebSettings = request.app.state.intake.settings.web
    via_proxy = proxy_user(request, web)
    if via_proxy:
        if request.session.get("user") != via_proxy:
            log_in(request, via_proxy)
        return via_proxy
    name = request.session.get("user")
    if not name:
        return None
    if time.time() - float(request.session.get("at", 0)) > web.session_hours * 3600:
        request.session.clear()
        return None
    with request.app.state.intake.context.factory() as s:
        if accounts.get_user(s, name) is None:
            request.session.clear()
            return None
    return str(name)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


Handler = Callable[[Request], Awaitable[Response]]


def login_required(handler: Handler) -> Handler:
    """Only for logged-in staff: others go to the login page; a POST also needs the CSRF token."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            if request.method != "GET":
                return PlainTextResponse("Log ind først.", status_code=401)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        request.state.user = user
        if request.method == "POST" and not await csrf_ok(request):
            return PlainTextResponse("Formularen er udløbet. Gå tilbage, genindlæs siden og prøv igen.",
                                     status_code=403)
        return await handler(request)

    return wrapper
