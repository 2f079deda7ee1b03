"""The dashboard in a real Chromium, against a real server (#16, #25). Screenshots are kept in
var/screenshots/ (the CI's artifacts); docs/dashboard.png and docs/rollout-page.png are copies
of two of them."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import REPO, free_port, running
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.server, pytest.mark.browser]

STRANGLER = str(Path(sys.executable).parent / "strangler")
TOKEN = "ann-browser-token"
SHOTS = REPO / "var" / "screenshots"


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium and chromium-driver are not installed (scripts/setup installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1500,900")
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.rollout_pair:legacy"\n'
        'migrated = "tests.test_apps.rollout_pair:migrated"\nflags = "flags.db"\n'
        'sticky = "header:x-user"\n'
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port)]
    env = {"STRANGLER_ADMIN_TOKENS": f"ann:write:{TOKEN}"}
    with running(argv, port=port, ready_path="/_strangler/health", env=env, timeout=60) as url:
        yield url


def shot(browser: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def backend_of(browser: Any, path: str) -> str:
    """The X-Strangler-Backend of a request the page makes (fetch, same origin)."""
    script = (
        "const done = arguments[arguments.length - 1];"
        f"fetch('{path}').then(r => done(r.headers.get('x-strangler-backend')));"
    )
    return str(browser.execute_async_script(script))


def test_log_in_flip_a_flag_with_a_reason_and_see_it_everywhere(browser: Any, gateway: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(gateway + "/_strangler/ui/")
    assert browser.current_url.endswith("/_strangler/ui/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    table = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "endpoints"))
    assert "GET /work" in table.text
    shot(browser, "dashboard-before")
    assert backend_of(browser, "/work") == "legacy"

    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-endpoint="GET /work"]')
    row.find_element(By.CSS_SELECTOR, "details.actions summary").click()  # the one control
    form = row.find_element(By.CSS_SELECTOR, "form.flag")
    Select(form.find_element(By.NAME, "mode")).select_by_visible_text("migrated")
    form.find_element(By.NAME, "reason").send_keys("ported; the contract suite is green")
    form.find_element(By.TAG_NAME, "button").click()
    message = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "message"))
    assert "GET /work: migrated" in message.text
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-endpoint="GET /work"]')
    assert row.find_element(By.CLASS_NAME, "routing").text == "migrated"
    assert backend_of(browser, "/work") == "migrated"
    docs = shot(browser, "dashboard")  # docs/dashboard.png is a copy of one

    browser.get(gateway + "/_strangler/ui/history?endpoint=GET+/work")
    history = browser.find_element(By.ID, "history").text
    assert "ann (dashboard)" in history
    assert "ported; the contract suite is green" in history
    shot(browser, "history")
    assert docs.stat().st_size > 10_000


def test_a_wrong_credential_sees_nothing(browser: Any, gateway: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(gateway + "/_strangler/ui/login")
    browser.find_element(By.ID, "token").send_keys("a wrong token")
    browser.find_element(By.ID, "login").click()
    error = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "login-error"))
    assert "not an admin credential" in error.text
    assert "GET /work" not in browser.page_source
    browser.get(gateway + "/_strangler/ui/history")
    assert browser.current_url.endswith("/_strangler/ui/login")
    assert "GET /work" not in browser.page_source
    shot(browser, "refused")


def test_a_gated_rollout_is_paused_resumed_and_approved_from_its_page(
    browser: Any, gateway: str
) -> None:
    """On the rollout page: pause and resume a running rollout, see it turn to awaiting
    approval by itself as the step is judged healthy, approve it, and see it at 50 % (#25)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    admin = {"X-Strangler-Admin-Token": TOKEN}
    plan = {
        "endpoint": "GET /work",
        "steps": [10, 50, 100],
        "interval": "2s",
        "min_requests": 3,
        "approve_at": [50],
        "reason": "port verified",
    }
    started = httpx.post(gateway + "/_strangler/rollouts", json=plan, headers=admin, timeout=10)
    assert started.status_code == 200, started.text

    def state() -> str:
        found = httpx.get(gateway + "/_strangler/rollouts", headers=admin, timeout=10).json()
        return str(found[0]["state"])

    browser.get(gateway + "/_strangler/ui/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "endpoints"))
    link = browser.find_element(By.CSS_SELECTOR, 'tr[data-endpoint="GET /work"] a.rollout-link')
    assert "rollout running at 10.0%" in link.text
    link.click()

    def do(action: str, reason: str) -> None:
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, f"do-{action}"))
        browser.find_element(By.ID, "reason").send_keys(reason)
        browser.find_element(By.ID, f"do-{action}").click()
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "message"))

    def shown_state() -> str:
        from selenium.common.exceptions import StaleElementReferenceException

        # The page redraws its state by itself: an element found may be replaced before it
        # is read. Looked up again then (a few times: a redraw is one moment).
        for _ in range(20):
            try:
                return str(browser.find_element(By.ID, "state").text)
            except StaleElementReferenceException:
                continue
        return str(browser.find_element(By.ID, "state").text)

    do("pause", "looking at the logs")
    assert "paused" in shown_state()
    assert state() == "paused"
    do("resume", "the logs are fine")
    assert "running" in shown_state()
    assert state() == "running"

    # Traffic until the 10 % step is judged healthy; the page (not reloaded) shows the wait.
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=gateway, timeout=10) as client:
        while state() != "awaiting_approval" and time.monotonic() < deadline:
            for _ in range(20):
                client.get("/work")
    assert state() == "awaiting_approval"
    WebDriverWait(browser, 15).until(lambda b: "awaiting approval" in shown_state())
    browser.refresh()  # the buttons are the page's own; its figures refresh by themselves
    do("approve", "10% looked right on the dashboard")
    assert "running" in shown_state()
    assert "at 50.0%" in shown_state()
    assert state() == "running"
    with httpx.Client(base_url=gateway, timeout=10) as client:
        for user in range(40):
            client.get("/work", headers={"x-user": f"user-{user}"})
    drawn = ".criterion polyline, .criterion circle"
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, drawn), within=60, every=0.5)
    browser.set_window_size(1500, 1250)
    page = shot(browser, "rollout-page")  # docs/rollout-page.png is a copy of it
    assert page.stat().st_size > 10_000

    browser.get(gateway + "/_strangler/ui/")
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "endpoints"))
    first = browser.find_element(By.CSS_SELECTOR, "#endpoints tbody tr")
    assert first.get_attribute("data-endpoint") == "GET /work"  # in motion: first
    shot(browser, "dashboard-rollout")
