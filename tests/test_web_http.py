"""The staff web page over HTTP: the real Starlette app on the real database (SQLite or
PostgreSQL), with mail that went through the real pipeline."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import webhelpers as wh
from openpyxl import load_workbook
from sqlalchemy import func, select
from starlette.testclient import TestClient

from intake.cases.reprocess import reprocess
from intake.web.app import create_app
from store import repository as repo
from store.models import Case, CaseEvent, RawMessage
from store.staff_models import LoginThrottle, WorkResolution
from store.words import CaseEventKind, Outcome


@pytest.fixture
def site(app, workdir, clock):
    """The demo round plus a reply, a quarantined mail and a held-back receipt; one account."""
    clock.now = dt.datetime(2025, 7, 27, 10, 0, tzinfo=dt.UTC)
    ids = wh.seed(app, workdir)
    wh.add_user(app)
    return app, ids


@pytest.fixture
def client(site):
    return TestClient(create_app(site[0]))


@pytest.fixture
def staff(client):
    """A client logged in as mette."""
    assert wh.login(client).status_code == 303
    return client


def _gets(ids):
    return ["/", "/?slags=triage", f"/post/{ids['reply']}", f"/post/{ids['question']}/fil/0",
            f"/udbakke/{ids['outbox']}", "/sager", "/sager?status=mangler", "/sager/PSV-2025-0001",
            "/sager/PSV-2025-0001/fil/1"]


def _posts(ids):
    return [("/logout", {}), (f"/arbejde/msg/{ids['reply']}", {"resolution": "answered"}),
            (f"/post/{ids['question']}/knyt", {"case_id": "PSV-2025-0001"}),
            (f"/post/{ids['question']}/opret", {"kind": "application"}),
            ("/sager/PSV-2025-0001/beslutning", {"decision": "bevilget", "amount": "500000"}),
            ("/sager/PSV-2025-0001/kvartal/2026Q1", {"action": "approve"})]


def _snapshot(app):
    with app.context.factory() as s:
        return (s.scalar(select(func.count()).select_from(WorkResolution)),
                s.scalar(select(func.count()).select_from(CaseEvent)),
                sorted((c.case_id, c.status) for c in s.scalars(select(Case))),
                sorted((m.id, m.outcome, m.case_pk) for m in s.scalars(select(RawMessage))))


def test_without_a_session_every_page_sends_to_the_login_and_every_form_is_refused(site, client):
    app, ids = site
    before = _snapshot(app)
    for url in _gets(ids):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    assert client.get("/sager?status=mangler", follow_redirects=False).headers["location"] == \
        "/login?next=/sager%3Fstatus%3Dmangler"
    for url, data in _posts(ids):
        assert client.post(url, data=data, follow_redirects=False).status_code == 401, url
    assert _snapshot(app) == before
    page = client.get("/login")
    assert page.status_code == 200 and "Log ind" in page.text
    assert client.get("/static/web.css").status_code == 200  # the login page needs its stylesheet


def test_forms_without_the_csrf_token_change_nothing(site, staff):
    app, ids = site
    before = _snapshot(app)
    for url, data in _posts(ids):
        assert staff.post(url, data=data, follow_redirects=False).status_code == 403, url
        assert staff.post(url, data={**data, "csrf": "forged"}, follow_redirects=False).status_code == 403
    assert _snapshot(app) == before
    assert staff.get("/", follow_redirects=False).status_code == 200  # still logged in
    fresh = TestClient(create_app(app))
    r = fresh.post("/login", data={"username": wh.USER, "password": wh.PASSWORD}, follow_redirects=False)
    assert r.status_code == 403  # the login form needs its token too


def test_login_lockout_survives_a_restart_and_logout_ends_the_session(site, client, clock):
    app, _ = site
    r = wh.login(client, password="forkert-kode-123")
    assert r.status_code == 401 and "Forkert brugernavn eller adgangskode." in r.text
    for _ in range(4):
        r = wh.login(client, password="forkert-kode-123")
    assert "For mange forkerte forsøg" in r.text and "låst til 27.07.2025 kl. 12.15" in r.text
    restarted = TestClient(create_app(app))  # a new process on the same database
    r = wh.login(restarted)
    assert r.status_code == 401 and "For mange forkerte forsøg" in r.text  # even the right password
    with app.context.factory() as s:
        assert s.get(LoginThrottle, "mette").locked_until is not None
    clock.advance(minutes=16)
    assert wh.login(restarted).status_code == 303
    assert restarted.get("/", follow_redirects=False).status_code == 200
    assert wh.post(restarted, "/logout", {}).headers["location"] == "/login"
    assert restarted.get("/", follow_redirects=False).status_code == 303
    # an unknown name fails exactly like a wrong password
    assert "Forkert brugernavn eller adgangskode." in wh.login(restarted, name="ukendt").text


def test_today_lists_what_needs_a_person_oldest_first(site, staff):
    app, ids = site
    page = staff.get("/").text
    keys = re.findall(r'<li data-key="([^"]+)"', page)
    # by kind (triage, replies, values to check, quarantine, unsent mail), each oldest first
    assert keys == [f"msg:{ids['question']}", f"msg:{ids['reply']}", f"msg:{ids['quarantined']}",
                    f"outbox:{ids['outbox']}"]
    counts = dict(re.findall(r'<li data-kind="(\w+)"><b>(\d+)</b>', page))
    assert counts == {"triage": "1", "reply": "1", "review": "0", "quarantine": "1", "unsent": "1"}
    assert "Spørgsmål om ansøgning" in page and "lars@kirkebo.dk" in page
    assert "MemoryError: a PDF that never ends" in page


def test_a_reply_is_shown_whole_and_marked_answered_with_who_and_when(site, staff):
    app, ids = site
    page = staff.get(f"/post/{ids['reply']}").text
    assert "Vores CVR-nummer er 28123458, ikke 28123451. Kan I rette det?" in page
    assert "jens@bf-syd.dk" in page and "PSV-2025-0002" in page
    r = wh.post(staff, f"/arbejde/msg/{ids['reply']}", {"resolution": "answered", "note": "CVR rettet i telefonen",
                                                       "tilbage": "/"}, page=f"/post/{ids['reply']}")
    assert r.status_code == 303 and r.headers["location"] == "/"
    with app.context.factory() as s:
        done = s.scalar(select(WorkResolution).where(WorkResolution.key == f"msg:{ids['reply']}"))
        assert (done.resolution, done.by, done.at, done.note) == (
            "answered", "mette", dt.datetime(2025, 7, 27, 10, 0, tzinfo=dt.UTC), "CVR rettet i telefonen")
        event = s.scalars(select(CaseEvent).where(CaseEvent.kind == CaseEventKind.RESOLVED)).one()
        assert event.case.case_id == "PSV-2025-0002" and "mette" in event.detail
    assert f'data-key="msg:{ids["reply"]}"' not in staff.get("/").text
    assert "Klaret: besvaret uden for værktøjet af mette, 27.07.2025 kl. 12.00" in staff.get(f"/post/{ids['reply']}").text
    # twice is refused, and nothing more is recorded
    again = wh.post(staff, f"/arbejde/msg/{ids['reply']}", {"resolution": "dismissed"})
    assert again.status_code == 303
    assert "allerede klaret" in staff.get("/").text
    with app.context.factory() as s:
        assert s.scalar(select(func.count()).select_from(WorkResolution)) == 1


def test_joining_a_triage_mail_to_a_case_survives_reprocessing(site, staff):
    app, ids = site
    q = ids["question"]
    r = wh.post(staff, f"/post/{q}/knyt", {"case_id": "psv-2025-0001"}, page=f"/post/{q}")
    assert r.headers["location"] == "/sager/PSV-2025-0001"
    case_page = staff.get("/sager/PSV-2025-0001").text
    assert "Post nr. 1 er knyttet til sagen PSV-2025-0001." in case_page
    assert "Kan vi søge sammen med to kommuner?" in case_page  # the mail's text in the thread
    with app.context.factory() as s:
        msg = s.get(RawMessage, q)
        assert (msg.outcome, msg.case.case_id, msg.staff_route["by"]) == (Outcome.FOLLOWUP, "PSV-2025-0001", "mette")
        assert s.scalar(select(WorkResolution.resolution).where(WorkResolution.key == f"msg:{q}")) == "joined"
    reprocess(app.context, [])
    with app.context.factory() as s:
        msg = s.get(RawMessage, q)
        assert (msg.outcome, msg.case.case_id) == (Outcome.FOLLOWUP, "PSV-2025-0001")
    assert f'data-key="msg:{q}"' not in staff.get("/").text
    # a case that does not exist is refused with a reason
    r = wh.post(staff, f"/post/{ids['quarantined']}/knyt", {"case_id": "PSV-2025-9999"})
    assert "Der findes ingen sag PSV-2025-9999." in staff.get(f"/post/{ids['quarantined']}").text


def test_making_an_application_case_of_a_triage_mail(site, staff):
    app, ids = site
    q = ids["question"]
    r = wh.post(staff, f"/post/{q}/opret", {"kind": "application", "parent": ""}, page=f"/post/{q}")
    with app.context.factory() as s:
        case = s.scalars(select(Case).order_by(Case.id.desc())).first()
        assert r.headers["location"] == f"/sager/{case.case_id}"
        assert (case.kind, case.status, case.sender) == ("application", "mangler", "lars@kirkebo.dk")
        assert {p["code"] for p in case.submissions[0].problems} >= {"form_missing", "budget_missing"}
        done = s.scalar(select(WorkResolution).where(WorkResolution.key == f"msg:{q}"))
        assert (done.resolution, done.by, done.case_pk) == ("new_case", "mette", case.id)
    # a report on a case that is not granted is refused
    wh.post(staff, f"/post/{ids['quarantined']}/opret", {"kind": "report", "parent": "PSV-2025-0002"})
    assert "PSV-2025-0002 er ikke en bevilget ansøgning." in staff.get(f"/post/{ids['quarantined']}").text


def test_decisions_on_the_case_page_get_the_sheets_checks(site, staff):
    app, _ = site
    url, page = "/sager/PSV-2025-0001/beslutning", "/sager/PSV-2025-0001"
    wh.post(staff, url, {"decision": "bevilget", "amount": "2.000.000,00"}, page)
    assert "er mere end det ansøgte 1.012.497,75 kr." in staff.get(page).text
    wh.post(staff, url, {"decision": "bevilget", "amount": ""}, page)
    assert "et bevilget beløb skal udfyldes" in staff.get(page).text
    with app.context.factory() as s:
        assert repo.get_case(s, "PSV-2025-0001").status == "komplet"
    wh.post(staff, url, {"decision": "bevilget", "amount": "900.000,50"}, page)
    wh.post(staff, "/sager/PSV-2025-0002/beslutning", {"decision": "afslag", "amount": "",
                                                       "reason": "Kommunen er ikke med"}, "/sager/PSV-2025-0002")
    with app.context.factory() as s:
        granted, rejected = repo.get_case(s, "PSV-2025-0001"), repo.get_case(s, "PSV-2025-0002")
        assert (granted.status, granted.granted_amount) == ("bevilget", "900000.50")
        assert (rejected.status, rejected.decision_reason) == ("afslag", "Kommunen er ikke med")
        assert "registreret af mette" in granted.events[-1].detail
    assert "bevilget 900.000,50 kr." in staff.get(page).text


def test_case_list_filters(site, staff):
    def listed(query):
        return re.findall(r'<tr data-case="([^"]+)"', staff.get(f"/sager{query}").text)

    assert listed("") == ["PSV-2025-0001", "PSV-2025-0002", "PSV-2025-0003"]
    assert listed("?status=mangler") == ["PSV-2025-0002"]
    assert listed("?kommune=Esbjerg") == ["PSV-2025-0003"]
    assert listed("?q=VESTBO") == ["PSV-2025-0003"]
    assert listed("?problemer=ja") == ["PSV-2025-0002", "PSV-2025-0003"]
    assert listed("?slags=report") == []


def test_case_page_shows_values_with_sources_and_serves_its_documents(site, staff):
    page = staff.get("/sager/PSV-2025-0001").text
    assert "Boligselskabet Nord" in page and "34567891" in page
    assert re.search(r'data-field="cvr">.*?PDF field', page, re.S)
    assert "Budget.xlsx" in page and "Ansøgningsskema.pdf" in page
    assert "Kvittering" in page or "fra os" in page  # the receipt we sent is in the thread
    files = dict((name, pk) for pk, name in re.findall(r'href="/sager/PSV-2025-0001/fil/(\d+)">([^<]+)<', page))
    budget = staff.get(f"/sager/PSV-2025-0001/fil/{files['Budget.xlsx']}")
    assert budget.status_code == 200 and budget.headers["content-disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(budget.content))
    assert "Budget" in sheet.sheetnames
    form = staff.get(f"/sager/PSV-2025-0001/fil/{files['Ansøgningsskema.pdf']}")
    assert form.headers["content-type"] == "application/pdf"
    assert form.headers["content-disposition"].startswith("inline") and form.content.startswith(b"%PDF")
    assert staff.get("/sager/PSV-2025-0002/fil/" + files["Budget.xlsx"]).status_code == 404  # not its file


def test_a_mail_in_html_is_shown_as_text_and_html_attachments_are_never_served_inline(app, workdir, staff):
    from intake.documents.samples import make_mail
    from store.db import transaction

    raw = make_mail("Hjemmeside", sender="a@example.org", domain="example.org",
                    attachments=[("side.html", b"<script>alert(1)</script>", "text/html")])
    with transaction(app.context.factory) as s:
        msg = RawMessage(sha256="1" * 64, size=len(raw), raw=raw, internaldate=app.context.now(),
                         stored_at=app.context.now(), state="processed", outcome="triage", attempts=0,
                         subject="Hjemmeside", sender="a@example.org", reason="subject matches no kind of mail in the pool")
        s.add(msg)
        s.flush()
        pk = msg.id
    r = staff.get(f"/post/{pk}/fil/0")
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["content-security-policy"] == "sandbox" and r.headers["x-content-type-options"] == "nosniff"
    page = staff.get(f"/post/{pk}")
    assert "<script>" not in page.text and "script-src" not in page.headers["content-security-policy"]


def test_held_back_receipt_is_shown_and_resolved(site, staff):
    app, ids = site
    page = staff.get(f"/udbakke/{ids['outbox']}").text
    assert "modtageren har allerede fået det højeste antal mails fra os i den seneste time" in page
    assert "kvittering · holdt tilbage" in page
    wh.post(staff, f"/arbejde/outbox/{ids['outbox']}", {"resolution": "answered", "note": "sendt i hånden"},
            page=f"/udbakke/{ids['outbox']}")
    assert f'data-key="outbox:{ids["outbox"]}"' not in staff.get("/").text


def test_a_value_to_review_is_checked_on_the_case_page(app, staff):
    import casefactory as cf

    from store.db import transaction

    with transaction(app.context.factory) as s:
        case = cf.make_case(s, "PSV-2025-0100", problems=[cf.problem(
            "field_needs_review", "hire_type", "Feltet kan ikke aflæses sikkert; sekretariatet tjekker det.", "warning")])
        sub = case.submissions[0].id
    page = staff.get("/sager/PSV-2025-0100").text
    assert f'data-key="sub:{sub}"' in page and "sekretariatet tjekker det" in page
    assert f'data-key="sub:{sub}"' in staff.get("/").text
    wh.post(staff, f"/arbejde/sub/{sub}", {"resolution": "checked", "tilbage": "/sager/PSV-2025-0100"},
            page="/sager/PSV-2025-0100")
    assert f'data-key="sub:{sub}"' not in staff.get("/").text
    assert "Kontrol kontrolleret af mette" in staff.get("/sager/PSV-2025-0100").text


def test_single_sign_on_name_is_believed_only_from_a_trusted_proxy(make_app, workdir):
    app = make_app('[web]\ntrusted_proxies = ["10.0.0.5"]\nproxy_user_header = "X-Auth-Request-User"\n')
    via_proxy = TestClient(create_app(app), client=("10.0.0.5", 40000))
    r = via_proxy.get("/", headers={"X-Auth-Request-User": "Anne@BL.dk"}, follow_redirects=False)
    assert r.status_code == 200 and "anne@bl.dk" in r.text
    direct = TestClient(create_app(app), client=("10.0.0.9", 40000))
    r = direct.get("/", headers={"X-Auth-Request-User": "anne@bl.dk"}, follow_redirects=False)
    assert r.status_code == 303  # the same header from anyone else is ignored


@pytest.mark.parametrize(("reason", "danish"), [
    ("the mail is automatic (Auto-Submitted: auto-replied)", "mailen er sendt automatisk"),
    ("the From header names 2 addresses", "mailen har 2 afsenderadresser"),
    ("noreply@kommune.dk is a no-reply address", "noreply@kommune.dk er en adresse, der ikke modtager svar"),
    ("the sender is not verified: dmarc=fail", "afsenderen er ikke bekræftet"),
    ("the mail arrived 400 hours ago, more than the 72 hours after which no receipt is sent",
     "mailen kom for 400 timer siden"),
    ("something new nobody translated", "Ingen kvittering: (årsag på engelsk) something new nobody translated"),
])
def test_the_case_page_says_in_danish_why_no_receipt_went(app, staff, reason, danish):
    import casefactory as cf

    from store.db import transaction

    with transaction(app.context.factory) as s:
        cf.make_case(s, "PSV-2025-0101").receipts_suppressed = f"no receipt: {reason}"
    page = staff.get("/sager/PSV-2025-0101").text
    assert danish in page
    assert "no receipt" not in page
