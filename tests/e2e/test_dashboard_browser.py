"""The dashboard in a real Chromium, against a real server (#16). Screenshots are kept in
var/screenshots/ (the CI's artifacts); docs/dashboard.png is one of them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import REPO, free_port, running

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
