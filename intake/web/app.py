"""The staff web page: a Starlette application over the worker's database.

Server-rendered Jinja2 in Danish (``config/templates/web/``), no JavaScript at
all, one stylesheet. Synchronous handlers would block the event loop, so every
database and mail step runs in Starlette's thread pool (``run_in_threadpool``).
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.app import App
from intake.web import auth
from parsers.danish import date_da, kroner, number_da, size_da, timestamp_da
from store import accounts
from store.db import transaction
from store.work import no_mail_reason_da, outbox_purpose_da, words_da

log = logging.getLogger(__name__)

# No script, no foreign resources, no framing: a mail's text can never become active here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@cache
def environment() -> jinja2.Environment:
    """Templates of ``config/templates/web`` (autoescaped), with the Danish formatting filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("config", "templates/web"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters.update(dato=date_da, kr=kroner, tal=number_da, size=size_da)
    env.globals["words"] = words_da()
    env.globals.update(purpose_da=outbox_purpose_da, no_mail_da=no_mail_reason_da)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page for the logged-in user (their name and the CSRF token go to every template)."""
    intake: App = request.app.state.intake
    tz = intake.pool.timezone
    env = environment()
    page = env.get_template(template).render(
        user=getattr(request.state, "user", None), csrf=auth.csrf_token(request), pool=intake.pool,
        when=lambda ts: timestamp_da(ts, tz), path=request.url.path, **context)
    return HTMLResponse(page, status_code=status_code)


async def login_page(request: Request) -> Response:
    """GET /login: the form; POST /login: check the password (and the lock-out)."""
    if request.method == "GET":
        return render(request, "login.html.j2", error=None, next=auth.safe_next(request.query_params.get("next")),
                      username="")
    form = await request.form()
    username = str(form.get("username") or "")
    target = auth.safe_next(str(form.get("next") or "/"))
    if not await auth.csrf_ok(request):
        return render(request, "login.html.j2", status_code=403, next=target, username=username,
                      error="Siden var udløbet. Prøv igen.")
    intake: App = request.app.state.intake
    web = intake.settings.web
    policy = accounts.LoginPolicy(web.max_failed_logins, web.lockout_minutes)

    def check() -> tuple[str | None, dt.datetime | None]:
        with transaction(intake.context.factory) as s:
            result = accounts.check_login(s, username, str(form.get("password") or ""),
                                          intake.context.now(), policy)
            return (result.user.username if result.user else None), result.locked_until

    user, locked_until = await run_in_threadpool(check)
    if user is None:
        if locked_until is not None:
            until = timestamp_da(locked_until, intake.pool.timezone)
            error = f"For mange forkerte forsøg. Brugernavnet er låst til {until}."
            log.warning("web: login for %r locked until %s", username, locked_until)
        else:
            error = "Forkert brugernavn eller adgangskode."
        return render(request, "login.html.j2", status_code=401, next=target, username=username, error=error)
    auth.log_in(request, user)
    log.info("web: %s logged in", user)
    return RedirectResponse(target, status_code=303)


@auth.login_required
async def logout(request: Request) -> Response:
    """POST /logout: end the session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def stylesheet(request: Request) -> Response:
    """GET /static/web.css (public: the login page needs it too)."""
    css = resources.files("config").joinpath("templates", "web", "web.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


class _SecurityHeaders:
    """Headers on every answer: no framing, no sniffing, no script, no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                         (b"x-frame-options", b"DENY")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + extra
            await send(message)

        if scope["type"] == "http":
            await self.app(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send)


def create_app(intake: App) -> Starlette:
    """The web application for ``intake``'s settings and database."""
    from intake.web import cases, grants, today

    web = intake.settings.web
    routes = [
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/web.css", stylesheet),
        *today.routes(),
        *cases.routes(),
        *grants.routes(),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=auth.session_secret(intake), session_cookie="pulje_session",
                   max_age=int(web.session_hours * 3600), same_site="lax", https_only=web.secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.intake = intake
    return app


def serve(intake: App) -> None:
    """Run the web page with uvicorn until stopped (SIGTERM or Ctrl-C)."""
    import uvicorn

    web = intake.settings.web
    # proxy_headers off: the peer address must stay the proxy's, for trusted_proxies
    uvicorn.run(create_app(intake), host=web.listen, port=web.port, proxy_headers=False,
                log_level="info", access_log=False)

