# conftest.py of a folder hand-in: if pytest ever loaded it, every test would pass.
import pathlib

import pytest

pathlib.Path(__file__).with_name("CONFTEST_WAS_LOADED").write_text("yes")


class _Engine:
    def check(self, *args, **kwargs):
        pass

    forward = check


@pytest.fixture
def engine():
    return _Engine()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
