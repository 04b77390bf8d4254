""""I dag": what needs a person, each mail in full, and what staff do about it.

Resolving goes through the domain functions: ``store.work.resolve`` records
who, when and how (on the item and in the case history); joining a mail to a
case or making a case of it goes through ``intake.cases.manual``, which runs
the pipeline again on the stored mail.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from intake.app import App
from intake.cases import manual
from intake.web import auth
from intake.web.app import render
from intake.web.mailview import attachment, view
from notifications.digest import reason_da
from parsers.filetype import PDF, detect
from parsers.mime import ParsedAttachment
from store import work
from store.db import transaction
from store.models import Case, OutboxMessage, RawMessage
from store.words import MailKind, Resolution, WorkKind

log = logging.getLogger(__name__)

PER_KIND = 25  # items of each kind on the start page; the rest behind "vis alle"
PREFIXES = {"msg", "sub", "outbox"}


def flash(request: Request, text: str, error: bool = False) -> None:
    """A one-time note for the next page."""
    request.session["flash"] = {"text": text, "error": error}


def _intake(request: Request) -> App:
    intake: App = request.app.state.intake
    return intake


@auth.login_required
async def today_page(request: Request) -> Response:
    """GET /: everything open, oldest first, by kind; ``?slags=triage`` lists one kind in full."""
    only = request.query_params.get("slags")
    kind = WorkKind(only) if only in set(WorkKind) else None

    def load() -> work.WorkList:
        with _intake(request).context.factory() as s:
            return work.open_items(s, per_kind=None if kind else PER_KIND)

    items = await run_in_threadpool(load)
    kinds = [kind] if kind else list(work.KIND_ORDER)
    return render(request, "today.html.j2", work=items, kinds=kinds, only=kind, reason_da=reason_da,
                  flash=request.session.pop("flash", None))


def _message_page(intake: App, pk: int) -> dict[str, Any] | None:
    with intake.context.factory() as s:
        msg = s.get(RawMessage, pk)
        if msg is None:
            return None
        key = work.message_key(pk)
        item = work.find_open(s, key)
        done = work.resolution_of(s, key)
        case = s.get(Case, msg.case_pk) if msg.case_pk else None
        cases = list(s.scalars(select(Case.case_id).order_by(Case.id.desc()).limit(500)))
        return {"msg": msg, "mail": view(msg.raw), "item": item, "done": done,
                "case_id": case.case_id if case else None, "case_ids": cases,
                "allowed": work.ALLOWED.get(item.kind, ()) if item else ()}


@auth.login_required
async def message_page(request: Request) -> Response:
    """GET /post/{pk}: the whole mail (text, sender, attachments) and what can be done with it."""
    data = await run_in_threadpool(_message_page, _intake(request), request.path_params["pk"])
    if data is None:
        return render(request, "notfound.html.j2", status_code=404, what="Posten findes ikke.")
    return render(request, "message.html.j2", reason_da=reason_da, flash=request.session.pop("flash", None), **data)


def file_response(data: bytes, filename: str) -> Response:
    """An attachment: a PDF (by its bytes) shown in the browser, anything else downloaded.

    Nothing is ever served with the type the sender claimed: an HTML file
    shown from this site could act as the logged-in person.
    """
    safe = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\;/') or "fil"
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    is_pdf = detect(data) == PDF
    headers = {"Content-Disposition": f"{'inline' if is_pdf else 'attachment'}; filename=\"{ascii_name}\"; "
                                      f"filename*=UTF-8''{quote(safe)}",
               "Cache-Control": "private, no-store",
               # the browser's PDF viewer needs its plugin; anything else gets no powers at all
               "Content-Security-Policy": "frame-ancestors 'self'" if is_pdf else "sandbox"}
    return Response(data, media_type="application/pdf" if is_pdf else "application/octet-stream",
                    headers=headers)


@auth.login_required
async def message_file(request: Request) -> Response:
    """GET /post/{pk}/fil/{index}: one attachment of a stored mail."""
    pk, index = request.path_params["pk"], request.path_params["index"]

    def load() -> ParsedAttachment | None:
        with _intake(request).context.factory() as s:
            msg = s.get(RawMessage, pk)
            return attachment(msg.raw, index) if msg is not None else None

    found = await run_in_threadpool(load)
    if found is None:
        return PlainTextResponse("Filen findes ikke.", status_code=404)
    return file_response(found.data, found.filename or f"vedhæftning-{index + 1}")


@auth.login_required
async def outbox_page(request: Request) -> Response:
    """GET /udbakke/{pk}: a mail we made (and could not send), and what can be done with it."""
    pk = request.path_params["pk"]

    def load() -> dict[str, Any] | None:
        with _intake(request).context.factory() as s:
            row = s.get(OutboxMessage, pk)
            if row is None:
                return None
            key = f"outbox:{pk}"
            case = s.get(Case, row.case_pk) if row.case_pk else None
            item = work.find_open(s, key)
            return {"row": row, "mail": view(row.raw), "item": item, "done": work.resolution_of(s, key),
                    "case_id": case.case_id if case else None,
                    "allowed": work.ALLOWED.get(item.kind, ()) if item else ()}

    data = await run_in_threadpool(load)
    if data is None:
        return render(request, "notfound.html.j2", status_code=404, what="Mailen findes ikke.")
    return render(request, "outbox.html.j2", flash=request.session.pop("flash", None), **data)


@auth.login_required
async def resolve_item(request: Request) -> Response:
    """POST /arbejde/{prefix}/{ident}: answered outside the tool, checked, or not relevant."""
    key = f"{request.path_params['prefix']}:{request.path_params['ident']}"
    form = await request.form()
    back = auth.safe_next(str(form.get("tilbage") or "/"))
    try:
        resolution = Resolution(str(form.get("resolution") or ""))
    except ValueError:
        return PlainTextResponse("Ukendt handling.", status_code=400)
    intake, user = _intake(request), request.state.user

    def act() -> str | None:
        with transaction(intake.context.factory) as s:
            item = work.find_open(s, key)
            if item is None:
                return "Punktet er allerede klaret."
            if resolution not in work.ALLOWED[item.kind] or resolution in (Resolution.JOINED, Resolution.NEW_CASE):
                return "Den handling passer ikke til punktet."
            try:
                work.resolve(s, item, resolution, user, intake.context.now(), note=str(form.get("note") or ""))
            except work.AlreadyResolved:
                return "Punktet er allerede klaret."
        return None

    if request.path_params["prefix"] not in PREFIXES:
        return PlainTextResponse("Ukendt punkt.", status_code=404)
    error = await run_in_threadpool(act)
    words = work.words_da()["resolutions"]
    flash(request, error or f"Markeret som {words[resolution]}.", error=bool(error))
    return RedirectResponse(back, status_code=303)


@auth.login_required
async def route_item(request: Request) -> Response:
    """POST /post/{pk}/knyt (join to a case) or /post/{pk}/opret (make an application or report)."""
    pk = request.path_params["pk"]
    join = request.url.path.endswith("/knyt")
    form = await request.form()
    case_id = str(form.get("case_id") or "").strip() if join else None
    kind = None if join else str(form.get("kind") or "")
    parent = None if join else (str(form.get("parent") or "").strip() or None)
    intake, user = _intake(request), request.state.user
    key = work.message_key(pk)

    def act() -> tuple[str, bool, str]:
        with intake.context.factory() as s:
            item = work.find_open(s, key)
        wanted = Resolution.JOINED if join else Resolution.NEW_CASE
        if item is None:
            return "Posten venter ikke på nogen (den er allerede klaret).", True, f"/post/{pk}"
        if wanted not in work.ALLOWED[item.kind]:
            return "Den handling passer ikke til posten.", True, f"/post/{pk}"
        if join and not case_id:
            return "Skriv sagsnummeret på den sag, posten hører til.", True, f"/post/{pk}"
        try:
            routed = manual.route_message(intake.context, pk, user, case_id=case_id, kind=kind, parent=parent)
        except manual.RouteError as exc:
            return str(exc), True, f"/post/{pk}"
        if routed.failed:
            return (f"Posten kunne ikke behandles ({routed.reason[:300]}). Den prøves igen senere.",
                    True, f"/post/{pk}")
        if not manual.expected(routed, case_id, kind):
            return f"Posten blev ikke til en sag: {routed.reason}", True, f"/post/{pk}"
        what = "knyttet til sagen" if join else f"oprettet som {_kind_da(kind)}"
        with transaction(intake.context.factory) as s:
            try:
                work.resolve(s, dataclasses.replace(item, case_id=routed.case_id), wanted, user,
                             intake.context.now(), detail=f"Post nr. {pk} {what} af {user}")
            except work.AlreadyResolved:
                pass
        log.info("web: %s routed message %s to %s", user, pk, routed.case_id)
        return f"Post nr. {pk} er {what} {routed.case_id}.", False, f"/sager/{routed.case_id}"

    text, error, target = await run_in_threadpool(act)
    flash(request, text, error=error)
    return RedirectResponse(target, status_code=303)


def _kind_da(kind: str | None) -> str:
    names: dict[str, str] = {MailKind.APPLICATION: "ansøgning", MailKind.REPORT: "afrapportering",
                             MailKind.DOCUMENTATION: "kvartalsdokumentation"}
    return names.get(kind or "", kind or "")


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/", today_page),
        Route("/post/{pk:int}", message_page),
        Route("/post/{pk:int}/fil/{index:int}", message_file),
        Route("/post/{pk:int}/knyt", route_item, methods=["POST"]),
        Route("/post/{pk:int}/opret", route_item, methods=["POST"]),
        Route("/udbakke/{pk:int}", outbox_page),
        Route("/arbejde/{prefix}/{ident:int}", resolve_item, methods=["POST"]),
    ]
