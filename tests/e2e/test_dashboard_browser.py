"""The dashboard in a real browser: headless system Chromium, driven by Selenium, against a mock in a thread.

The opt-in group `browser` (conftest.py): run with `.venv/bin/pytest -m browser`, as .ci/run does; a missing
Chromium, chromedriver or Selenium then fails, saying how to install it. Set
LIPSYNC_DASHBOARD_SCREENSHOT=docs/dashboard.png to write the README's screenshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.config import Settings
from mock_server.lifecycle import LifecycleMode
from mock_server.testing import BackgroundServer, MockControl

INSTALL_BROWSER = "apt-get update && apt-get install -y chromium chromium-driver"
INSTALL_SELENIUM = ".venv/bin/pip install -c constraints.txt -e '.[test]'"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1000",
    "--autoplay-policy=no-user-gesture-required",
)
# Run in every page before its own script: records what the page leaves unhandled, and how many start-up handlers
# it registers.
WATCH_THE_PAGE = """
window.pageErrors = [];
addEventListener("unhandledrejection", (event) => pageErrors.push("unhandled rejection: " + event.reason));
addEventListener("error", (event) => pageErrors.push("error: " + event.message));
window.startupHandlers = 0;
const addEventListener_ = EventTarget.prototype.addEventListener;
EventTarget.prototype.addEventListener = function (type, ...rest) {
  if ((this === window || this === document) && (type === "DOMContentLoaded" || type === "load")) startupHandlers++;
  return addEventListener_.call(this, type, ...rest);
};
"""
MODES = [str(mode) for mode in LifecycleMode]
pytestmark = pytest.mark.browser


def _missing(what: str, install: str) -> None:
    pytest.fail(f"{what} is missing; install it with: {install}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        _missing("chromium or chromedriver", INSTALL_BROWSER)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium", INSTALL_SELENIUM)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium  # the system's browser: nothing is downloaded
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    session = webdriver.Chrome(options=options, service=Service(driver))
    session.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_THE_PAGE})
    yield session
    session.quit()


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "the page") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def post(url: str, tasks: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, json.dumps(tasks).encode(), {"Authorization": "Bearer any-key"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def card_status(browser: Any, task_uuid: str) -> str | None:
    return browser.execute_script(
        "const card = document.querySelector(`article[data-task-uuid='${arguments[0]}']`);"
        "return card ? card.querySelector('.status').textContent : null;",
        task_uuid,
    )


def click(browser: Any, selector: str) -> None:
    browser.execute_script("document.querySelector(arguments[0]).click()", selector)


def text_of(browser: Any, element_id: str) -> str:
    return browser.find_element("id", element_id).text


def account_of(key: str) -> str:
    """The account of `key`, as the control API names it: a digest (namespaces.owner_of)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def shortened(account: str) -> str:
    return account[:12] + "…"


def account_rows(browser: Any) -> list[list[str]]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#accounts tr')].map((row) => [...row.cells].map((c) => c.textContent))"
    )


def assert_the_page_kept_its_promises(browser: Any) -> None:
    """Nothing left unhandled, one start-up handler, and no state on the page's nodes: no property of the
    page's own on any element, no data attribute but the ones that name what a node shows."""
    assert browser.execute_script("return window.pageErrors") == []
    assert browser.execute_script("return window.startupHandlers") == 1
    state_on_nodes = browser.execute_script(
        "return [...document.querySelectorAll('*')].flatMap((node) => ["
        "  ...Object.keys(node).filter((name) => !/^[0-9]+$/.test(name)),"  # a form's fields, a select's options
        "  ...Object.keys(node.dataset).filter((name) => !['taskUuid', 'videoUuid', 'requestId'].includes(name)),"
        "].map((name) => node.tagName + '.' + name))"
    )
    assert state_on_nodes == []


def test_tasks_appear_change_status_live_play_and_are_controlled(browser):
    with BackgroundServer(Settings(processing_rate=1.5, delivery_attempts=1)) as mock:
        first = with_inline_media(example_task())
        first["includeCost"] = True
        assert post(mock.url, [first])[0] == 200
        browser.get(f"{mock.base_url}/__mock/ui")
        browser.execute_script("window.loadedOnce = true")  # gone if the page reloads
        assert wait_for(lambda: card_status(browser, first["taskUUID"]), what="the task's card") in (
            "rendering",
            "processing",
        )
        wait_for(lambda: card_status(browser, first["taskUUID"]) == "success", what="the task to succeed")
        assert browser.execute_script("return window.loadedOnce") is True
        assert browser.find_element("id", "processing-rate").get_attribute("value") == "1.5"

        # The result plays in the page: its metadata is read from the file the mock serves.
        playing = wait_for(
            lambda: browser.execute_script(
                "const video = document.querySelector('.result video');"
                "if (!video) return null; video.muted = true; video.play();"
                "return video.readyState >= 2 ? [video.readyState, video.duration] : null;"
            ),
            what="the video to load",
        )
        assert playing[1] == pytest.approx(1.0, abs=0.2)
        facts = wait_for(
            lambda: "kB" in (text := browser.find_element("css selector", ".result .facts").text) and text,
            what="the result's size",
        )
        assert " s · " in facts

        # The account of the key shows what the task's render was charged, and the balance new accounts start with.
        account = shortened(account_of("any-key"))
        wait_for(lambda: account_rows(browser) == [[account, "unlimited", "$0.044"]], what="the spent")
        assert text_of(browser, "starting-balance") == "unlimited"

        # Setting every balance from the page changes what the mock holds, and what the page shows.
        browser.find_element("id", "balance").send_keys("20")
        click(browser, "#balance-form button[type=submit]")
        wait_for(lambda: account_rows(browser) == [[account, "$20", "$0.044"]], what="the new balance")
        assert text_of(browser, "starting-balance") == "$20"
        assert "every balance of the default namespace set to $20" in text_of(browser, "message")
        assert MockControl(mock.base_url).accounts() == {
            "startingBalance": 20,
            "accounts": [{"account": account_of("any-key"), "balance": 20, "spent": 0.044}],
        }
        browser.find_element("id", "balance").clear()
        click(browser, "#balance-form button[type=submit]")  # empty: unlimited again
        wait_for(lambda: account_rows(browser) == [[account, "unlimited", "$0.044"]], what="unlimited")

        # A poll shows on the timeline; a failed task shows its error and parameter; a webhook its attempt.
        assert post(mock.url, [{"taskType": "getResponse", "taskUUID": first["taskUUID"]}])[0] == 200
        failing = {**example_task(), "inputs": {"video": "0b7e3c1a-4d2f-4a8b-9c6d-5e4f3a2b1c0d", "audio": "x"}}
        failing["webhookURL"] = "http://127.0.0.1:9/hook"  # nothing listens there: the attempt fails
        assert post(mock.url, [failing])[0] == 200
        wait_for(lambda: card_status(browser, failing["taskUUID"]) == "error", what="the failed task")
        card = browser.find_element("css selector", f"article[data-task-uuid='{failing['taskUUID']}']")
        assert "mediaNotFound inputs.video" in card.find_element("css selector", ".error").text
        timeline = f"article[data-task-uuid='{first['taskUUID']}'] .timeline"
        wait_for(lambda: "poll 1" in browser.find_element("css selector", timeline).text, what="the poll")
        wait_for(lambda: "127.0.0.1:9/hook" in browser.find_element("id", "deliveries").text, what="the webhook")

        # Controls: a manual lifecycle set from the page, then "Complete now" on the task's card; both selectors offer
        # the modes the mock names.
        modes = "return [...document.querySelectorAll(arguments[0] + ' option')].map((option) => option.value)"
        assert browser.execute_script(modes, "#lifecycle-mode") == MODES
        assert browser.execute_script(modes, f"article[data-task-uuid='{first['taskUUID']}'] .task-lifecycle") == MODES
        browser.execute_script("document.getElementById('lifecycle-mode').value = 'manual'")
        click(browser, "#lifecycle-form button[type=submit]")
        control = MockControl(mock.base_url)
        wait_for(lambda: "manual" in browser.find_element("id", "message").text, what="the lifecycle")
        second = with_inline_media(example_task())
        assert post(mock.url, [second])[0] == 200
        mock.wait_idle()
        wait_for(lambda: card_status(browser, second["taskUUID"]) == "processing", what="the rendered task")
        click(browser, f"article[data-task-uuid='{second['taskUUID']}'] button.complete")
        wait_for(lambda: card_status(browser, second["taskUUID"]) == "success", what="the completed task")

        # The journal: a row for each request, newest first, keyed by its id.
        ids = [entry["id"] for entry in reversed(control.requests())]
        row_ids = "return [...document.querySelectorAll('#requests tr')].map((row) => Number(row.dataset.requestId))"
        wait_for(lambda: browser.execute_script(row_ids) == ids, what="a row for each request")

        # A hostile request is shown as text, filtered as refused, and copied as curl.
        hostile = {"taskType": "<img src=x onerror=window.pwned=1>", "taskUUID": "<b id=bold>x</b>"}
        assert post(mock.url, [hostile])[0] == 400
        browser.execute_script("const s = document.getElementById('filter-outcome'); s.value = 'refused';")
        browser.execute_script("document.getElementById('filter-outcome').dispatchEvent(new Event('change'))")
        rows = wait_for(
            lambda: len(found := browser.find_elements("css selector", "#requests tr")) == 1 and found,
            what="the refused request alone",
        )
        assert "<img src=x onerror=window.pwned=1>" in rows[0].text
        assert browser.execute_script("return [window.pwned, document.getElementById('bold')]") == [None, None]
        click(browser, "#requests tr button.copy-curl")
        command = wait_for(lambda: browser.find_element("id", "curl-output").get_attribute("value"))
        words = shlex.split(command)
        assert words[:2] == ["curl", "-s"] and words[2] == f"{mock.base_url}/v1"
        assert json.loads(words[words.index("--data-raw") + 1]) == [hostile]
        browser.execute_script("document.getElementById('filter-outcome').value = ''")

        if os.environ.get("LIPSYNC_DASHBOARD_SCREENSHOT"):
            browser.execute_script("document.querySelectorAll('video').forEach((video) => video.pause())")
            browser.set_window_size(1200, 1500)
            wait_for(lambda: len(browser.find_elements("css selector", "#requests tr")) > 1, what="every request")
            browser.save_screenshot(os.environ["LIPSYNC_DASHBOARD_SCREENSHOT"])

        assert_the_page_kept_its_promises(browser)
        click(browser, "#reset")
        wait_for(lambda: not browser.find_elements("css selector", "article.task"), what="the reset")
        assert control.requests() == [] and control.faults() == []
        wait_for(lambda: account_rows(browser) == [], what="the accounts reset")


def test_the_page_takes_the_control_token_from_its_address(browser):
    with BackgroundServer(Settings(control_token="s3cret", processing_rate=0.0)) as mock:
        task = with_inline_media(example_task())
        assert post(mock.url, [task])[0] == 200
        browser.get(f"{mock.base_url}/__mock/ui")
        wait_for(lambda: browser.find_element("id", "connection").text == "needs the control token")
        assert text_of(browser, "problem") == "The control API needs X-Mock-Control-Token."
        browser.get(f"{mock.base_url}/__mock/ui?token=s3cret")
        wait_for(lambda: card_status(browser, task["taskUUID"]), what="the task, with the token")
        assert "token" not in browser.current_url  # taken out of the address bar, kept for the tab
        assert browser.find_element("id", "connection").text == "live"
        assert_the_page_kept_its_promises(browser)


def test_the_page_shows_one_namespace_when_asked(browser):
    with BackgroundServer(Settings(processing_rate=0.0)) as mock:
        mine, theirs = with_inline_media(example_task()), with_inline_media(example_task())
        for task, namespace in [(mine, "worker-1"), (theirs, "worker-2")]:
            request = urllib.request.Request(
                mock.url,
                json.dumps([task]).encode(),
                {"Authorization": "Bearer any-key", "X-Mock-Namespace": namespace},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        browser.get(f"{mock.base_url}/__mock/ui")
        wait_for(lambda: card_status(browser, mine["taskUUID"]) and card_status(browser, theirs["taskUUID"]))
        browser.get(f"{mock.base_url}/__mock/ui?namespace=worker-1")
        wait_for(lambda: card_status(browser, mine["taskUUID"]), what="worker-1's task")
        assert card_status(browser, theirs["taskUUID"]) is None
        assert browser.find_element("id", "namespace").get_attribute("value") == "worker-1"
        assert_the_page_kept_its_promises(browser)


def test_a_failed_call_shows_a_message_on_the_page_and_is_never_left_unhandled(browser):
    with BackgroundServer(Settings(processing_rate=0.0)) as mock:
        control = MockControl(mock.base_url)
        control.set_lifecycle("manual")
        task = with_inline_media(example_task())
        assert post(mock.url, [task])[0] == 200
        mock.wait_idle()
        browser.get(f"{mock.base_url}/__mock/ui")
        wait_for(lambda: card_status(browser, task["taskUUID"]) == "processing", what="the rendered task")

        # The size of a result is asked for with a HEAD request of its own; here it gets no answer.
        browser.execute_script(
            "window.realFetch = window.fetch;"
            "window.fetch = (url, options) => options && options.method === 'HEAD'"
            "  ? Promise.reject(new TypeError('Failed to fetch')) : realFetch(url, options);"
        )
        control.complete(task["taskUUID"])
        wait_for(lambda: "is unknown: the mock did not answer" in text_of(browser, "message"), what="the message")
        assert "size unknown" in browser.find_element("css selector", ".result .facts").text

        # No call answers: the page says so, and a control says it was not done.
        browser.execute_script("window.fetch = () => Promise.reject(new TypeError('Failed to fetch'))")
        wait_for(lambda: text_of(browser, "connection") == "disconnected", what="the lost connection")
        assert text_of(browser, "problem") == "the mock did not answer (is it still running?)"
        click(browser, "#reset")
        wait_for(lambda: text_of(browser, "message") == "the mock did not answer (is it still running?)")
        assert card_status(browser, task["taskUUID"]) == "success"  # nothing was reset

        # A call the mock refuses says why.
        browser.execute_script("window.fetch = window.realFetch")
        wait_for(lambda: text_of(browser, "connection") == "live", what="the connection back")
        assert text_of(browser, "problem") == ""
        browser.execute_script("document.getElementById('fault').value = 'nonsense'")
        click(browser, "#fault-form button[type=submit]")
        wait_for(lambda: text_of(browser, "message").startswith("refused: "), what="the refusal")
        assert control.faults() == []
        assert_the_page_kept_its_promises(browser)


def test_the_accounts_shown_are_those_of_the_namespace(browser):
    with BackgroundServer(Settings(processing_rate=0.0)) as mock:
        for namespace in ("worker-1", "worker-2"):
            request = urllib.request.Request(
                mock.url,
                json.dumps([with_inline_media(example_task())]).encode(),
                {"Authorization": f"Bearer key-of-{namespace}", "X-Mock-Namespace": namespace},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        mock.wait_idle()
        browser.get(f"{mock.base_url}/__mock/ui?namespace=worker-1")
        mine = shortened(account_of("key-of-worker-1"))
        wait_for(lambda: account_rows(browser) == [[mine, "unlimited", "$0.044"]], what="worker-1's account")
        browser.find_element("id", "balance").send_keys("7.5")
        click(browser, "#balance-form button[type=submit]")
        wait_for(lambda: account_rows(browser) == [[mine, "$7.5", "$0.044"]], what="worker-1's new balance")
        assert "every balance of namespace worker-1 set to $7.5" in text_of(browser, "message")
        theirs = MockControl(mock.base_url, namespace="worker-2").accounts()
        assert theirs["startingBalance"] is None and theirs["accounts"][0]["balance"] is None
        browser.get(f"{mock.base_url}/__mock/ui")
        wait_for(lambda: len(account_rows(browser)) == 2, what="every namespace's account")
        assert_the_page_kept_its_promises(browser)


def coverage_rows(browser: Any) -> list[list[str]]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#coverage tr')].map((row) => [...row.cells].map((c) => c.textContent))"
    )


def percent(value: float) -> str:
    """`value` as JavaScript writes a number: 0.0 as "0", 12.5 as "12.5"."""
    return f"{value:g}%"


def rows_of(report: dict[str, Any]) -> list[list[str]]:
    """The coverage table as the page should show `report` (GET /__mock/coverage): a row a section."""
    return [
        [
            name,
            f"{section['met']} of {section['total']} ({percent(section['percent'])})",
            ", ".join(entry["name"] for entry in section["entries"] if not entry["met"]),
        ]
        for name, section in report["sections"].items()
    ]


def test_the_coverage_shown_is_the_control_apis_and_follows_the_traffic(browser):
    with BackgroundServer(Settings(processing_rate=0.0)) as mock:
        control = MockControl(mock.base_url)
        browser.get(f"{mock.base_url}/__mock/ui")
        before = control.coverage()
        wait_for(lambda: coverage_rows(browser) == rows_of(before), what="the coverage of no traffic")
        assert text_of(browser, "coverage-percent") == percent(before["percent"])

        status, _ = post(mock.url, [with_inline_media(example_task())])
        assert status == 200
        mock.wait_idle()
        after = control.coverage()
        assert after["met"] > before["met"]
        wait_for(lambda: coverage_rows(browser) == rows_of(after), what="the coverage after one task")
        assert text_of(browser, "coverage-percent") == percent(after["percent"])
        assert_the_page_kept_its_promises(browser)
