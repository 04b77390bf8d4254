"""The staff web page in a real browser: Debian's Chromium driven by Selenium through Debian's
chromedriver, against the real app served by uvicorn on a free loopback port.

A person logs in, opens "I dag", reads an applicant's question and marks it
answered, joins a triage mail to a case, opens the case and downloads its
budget, and records the committee's decision; every page fits 1280 and 400 px
without sideways scrolling. Screenshots are kept in ``$TMPDIR/pulje-web-shots``
for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import uvicorn
import webhelpers as wh
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from intake.web.app import create_app
from store import repository as repo

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = Path(tempfile.gettempdir()) / "pulje-web-shots"
PATIENCE = 60  # seconds a step may take on a busy machine before the test gives up (never asserted)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(app, workdir, clock):
    """The seeded app, served by uvicorn in a thread; yields (app, ids, base url)."""
    clock.now = dt.datetime(2025, 7, 27, 10, 0, tzinfo=dt.UTC)
    ids = wh.seed(app, workdir)
    wh.add_user(app)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield app, ids, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=PATIENCE)


@pytest.fixture
def browser(workdir):
    downloads = workdir / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                "--disable-dev-shm-usage", f"--user-data-dir={workdir / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait(driver, condition):
    return WebDriverWait(driver, PATIENCE).until(condition)


def _no_overflow(driver) -> None:
    width = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{driver.current_url} scrolls sideways: {width}"


def _shot(driver, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _submit(driver, button) -> None:
    """Click a form's button and wait until the next page has replaced this one.

    Without the wait, the page being left (which may show a note of its own)
    could be read instead of the answer to the click.
    """
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    _wait(driver, ec.staleness_of(page))


def _flash(driver) -> str:
    return _wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, ".flash"))).text


def test_a_morning_of_staff_work_in_chromium(served, browser):
    app, ids, base = served
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    b = browser
    b.get(base + "/")
    assert "/login" in b.current_url
    _no_overflow(b)
    _shot(b, "1280-login")
    b.find_element(By.ID, "username").send_keys(wh.USER)
    b.find_element(By.ID, "password").send_keys(wh.PASSWORD)
    b.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    _wait(b, ec.title_contains("I dag"))
    assert b.find_element(By.CSS_SELECTOR, "h1").text == "I dag"
    _no_overflow(b)
    _shot(b, "1280-i-dag")

    # an applicant's question: read it whole, mark it answered
    b.find_element(By.CSS_SELECTOR, f"li[data-key='msg:{ids['reply']}'] a").click()
    _wait(b, ec.title_contains(f"Post nr. {ids['reply']}"))
    assert "Vores CVR-nummer er 28123458, ikke 28123451" in b.find_element(By.CSS_SELECTOR, "pre.mailtext").text
    _no_overflow(b)
    _shot(b, "1280-svar")
    b.find_element(By.NAME, "note").send_keys("Ringede til Jens; CVR rettes ved næste version")
    _submit(b, b.find_element(By.CSS_SELECTOR, "button[value='answered']"))
    assert _flash(b) == "Markeret som besvaret uden for værktøjet."
    assert not b.find_elements(By.CSS_SELECTOR, f"li[data-key='msg:{ids['reply']}']")

    # a triage mail: join it to the case it belongs to
    b.find_element(By.CSS_SELECTOR, f"li[data-key='msg:{ids['question']}'] a").click()
    _wait(b, ec.presence_of_element_located((By.ID, "case_id"))).send_keys("PSV-2025-0001")
    _submit(b, b.find_element(By.CSS_SELECTOR, "form[action$='/knyt'] button"))
    assert _flash(b) == f"Post nr. {ids['question']} er knyttet til sagen PSV-2025-0001."
    assert b.current_url.endswith("/sager/PSV-2025-0001")
    assert "Kan vi søge sammen med to kommuner?" in b.find_element(By.ID, "post").text
    _no_overflow(b)
    _shot(b, "1280-sag")

    # the budget, downloaded as the person would
    b.find_element(By.LINK_TEXT, "Budget.xlsx").click()
    deadline = time.monotonic() + PATIENCE
    while not (b.downloads / "Budget.xlsx").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    sheet = load_workbook(io.BytesIO((b.downloads / "Budget.xlsx").read_bytes()))
    assert "Budget" in sheet.sheetnames

    # the committee's decision
    Select(b.find_element(By.ID, "decision")).select_by_value("bevilget")
    b.find_element(By.ID, "amount").send_keys("900.000,00")
    _submit(b, b.find_element(By.CSS_SELECTOR, "form[action$='/beslutning'] button"))
    assert _flash(b) == "Beslutningen er registreret: bevilget."
    assert b.find_element(By.CSS_SELECTOR, "dd[data-status]").text == "bevilget"
    with app.context.factory() as s:
        case = repo.get_case(s, "PSV-2025-0001")
        assert (case.status, case.granted_amount) == ("bevilget", "900000.00")

    b.get(base + "/sager")
    _no_overflow(b)
    _shot(b, "1280-sager")

    # the same pages on a 400 px phone
    b.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 400, "height": 900, "deviceScaleFactor": 1, "mobile": True})
    for name, path in (("i-dag", "/"), ("sager", "/sager"), ("sag", "/sager/PSV-2025-0002"),
                       ("post", f"/post/{ids['quarantined']}"), ("udbakke", f"/udbakke/{ids['outbox']}")):
        b.get(base + path)
        _wait(b, ec.presence_of_element_located((By.CSS_SELECTOR, "main h1")))
        assert b.execute_script("return window.innerWidth") == 400
        _no_overflow(b)
        _shot(b, f"400-{name}")
