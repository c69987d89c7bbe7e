"""A real Chromium opens the grader the way a course does: inside a frame of an LMS page on
another site (the LMS on 127.0.0.1, the tool on localhost). The launch's state cookie and the
session cookie must travel in that third-party frame (SameSite=None; Secure; Partitioned, which
a browser blocking third-party cookies needs), the page's CSRF
token must carry the upload, and the score must reach the LMS's gradebook."""
from __future__ import annotations

import time

from lms import LEARNER, LMS
from servicekit import MAXIMUM, Server, handin
from test_lti_service import add_platform
# the Chromium fixture of the service's browser test (which skips without chromium-driver)
from test_service_browser import browser  # noqa: F401
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def test_a_student_in_the_lms_frame_uploads_and_the_score_reaches_the_lms(browser, tmp_path):
    lms = LMS()
    server = Server(tmp_path / "data", "--jobs", "1").start()
    try:
        tool = f"http://localhost:{server.port}"   # another site than the LMS's 127.0.0.1
        lms.register_tool(tool)
        add_platform(server.data, lms)
        lms.enrol("course-1", "u-1", "Ada Lovelace", [LEARNER])

        browser.get(lms.course_page("u-1"))
        WebDriverWait(browser, 60).until(EC.frame_to_be_available_and_switch_to_it("tool"))
        try:
            WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.ID, "file"))
        except Exception:
            raise AssertionError(browser.current_url + browser.page_source[:2000]) from None
        assert "Ada Lovelace" in browser.find_element(By.TAG_NAME, "body").text
        engine = tmp_path / "engine.py"
        engine.write_bytes(handin("stub-tanh"))
        browser.find_element(By.ID, "file").send_keys(str(engine))
        status = browser.find_element(By.ID, "status")
        WebDriverWait(browser, 300).until(
            lambda d: status.get_attribute("class") in ("ok", "error"))
        assert status.text.startswith("Graded:"), status.text
        assert f"/ {MAXIMUM:g}" in status.text

        end = time.monotonic() + 60
        while not lms.scores and time.monotonic() < end:
            time.sleep(0.2)
        (_, score), = lms.scores
        assert score["userId"] == "u-1" and score["scoreMaximum"] == MAXIMUM
        assert f"{score['scoreGiven']:g} / {MAXIMUM:g}" in status.text
    finally:
        server.stop()
        lms.close()
