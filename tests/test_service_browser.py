"""A real Chromium (Debian's, driven by selenium through chromium-driver) uses the service as
people do: a student signs in with a personal link, uploads a hand-in with the file picker and
by drag and drop, watches it graded and reads the feedback with no reload; the instructor opens
the class page."""
from __future__ import annotations

import base64
import os
import shutil

import pytest

from servicekit import MAXIMUM, Client, Server, handin, token

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER) and os.environ.get("CI") != "true":
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service as DriverService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser") / "data"
    s = Server(data, "--jobs", "1").start()
    yield s
    s.stop()


@pytest.fixture
def browser():
    assert CHROMIUM and DRIVER, "chromium and chromium-driver are not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def live(browser, seconds: float) -> WebDriverWait:
    """A wait on a page that redraws itself: an element read while it is replaced is read
    again, not an error."""
    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def sign_in(browser, server, *who: str) -> None:
    browser.get(f"{server.base}/enter#{token(server.data, *who)}")
    WebDriverWait(browser, 30).until(lambda d: "/enter" not in d.current_url)


def graded(browser, timeout=300) -> str:
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, timeout).until(
        lambda d: status.get_attribute("class") in ("ok", "error"))
    return status.text


DROP = """
const [name, b64] = arguments;
const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const data = new DataTransfer();
data.items.add(new File([bytes], name));
const zone = document.getElementById('form');
for (const type of ['dragenter', 'dragover', 'drop'])
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
"""


def test_a_student_uploads_and_reads_the_feedback_with_no_reload(browser, server, tmp_path):
    sign_in(browser, server, "--student", "ada", "--name", "Ada Lovelace")
    assert browser.current_url.endswith("/student")
    browser.execute_script("window.notReloaded = true")
    engine = tmp_path / "engine.py"
    engine.write_bytes(handin("add-overwrite"))
    browser.find_element(By.ID, "file").send_keys(str(engine))  # the file picker
    text = graded(browser)
    assert text.startswith("Graded:") and f"/ {MAXIMUM:g}" in text, text
    assert browser.execute_script("return window.notReloaded") is True
    WebDriverWait(browser, 30).until(EC.frame_to_be_available_and_switch_to_it("feedback"))
    WebDriverWait(browser, 30).until(lambda d: "Score:" in d.find_element(By.TAG_NAME, "body").text)
    feedback = browser.find_element(By.TAG_NAME, "body").text
    assert "What the failed tests point to" in feedback and "Failed tests" in feedback
    browser.switch_to.default_content()
    rows = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert len(rows) == 1 and rows[0].text.startswith("1 ")

    # drag and drop a file that cannot be graded: one sentence, no attempt used
    browser.execute_script(DROP, "engine.py", base64.b64encode(handin("syntax")).decode())
    text = graded(browser)
    assert text.startswith("Not graded:") and "line" in text
    browser.execute_script(DROP, "engine.py", base64.b64encode(handin("reference")).decode())
    text = graded(browser)
    assert text.startswith("Graded:") and f"{MAXIMUM:g} / {MAXIMUM:g}" in text
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")]
    assert len(rows) == 3 and rows[0].startswith("2 ") and rows[1].startswith("– ")
    assert browser.execute_script("return window.notReloaded") is True


def test_the_instructor_opens_the_class_page(browser, server):
    token(server.data, "--student", "neverdid", "--name", "Never Did")
    sign_in(browser, server, "--instructor", "prof")
    assert browser.current_url.endswith("/instructor")
    live(browser, 30).until(lambda d: "ada" in d.find_element(By.ID, "class").text
                            and "Never Did" in d.find_element(By.ID, "class").text)
    live(browser, 30).until(lambda d: "Never Did" in d.find_element(By.ID, "missing").text)
    # the class is live: a student who hands in now appears with no reload
    browser.execute_script("window.notReloaded = true")
    late = Client(server.base, token(server.data, "--student", "latecomer"))
    late.wait(late.upload(handin("reference"))[1]["id"])
    live(browser, 60).until(lambda d: "latecomer" in d.find_element(By.ID, "class").text)
    assert browser.execute_script("return window.notReloaded") is True
    browser.find_element(By.LINK_TEXT, "ada").click()
    WebDriverWait(browser, 30).until(lambda d: "/instructor/students/ada" in d.current_url)
    assert "counts" in browser.find_element(By.ID, "attempts").text
