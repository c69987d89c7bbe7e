"""When the sandbox host fails on its own, the hand-in being graded is not blamed: its result
says the grader's sandbox failed and to tell the instructor (0 out of the full maximum, to be
graded again), never "the hand-in brought down its sandbox"; the next hand-in gets a new host.

The failure here is a real one, in a platform's container (tests/container.py: root without
CAP_SYS_ADMIN, Docker's seccomp profile), where hand-ins get no scratch tmpfs and each one's
folder is made in the host's own: that folder is removed under the host, as a cleaner of old
files in /tmp does to a submission service that has run for weeks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import container
from servicekit import MAXIMUM

HERE = Path(__file__).parent
SCENARIO = f"""
import json, shutil, sys
sys.path.insert(0, {str(HERE)!r})
from mutants import REFERENCE
from grader.grading.runner import Job, run
from grader.sandbox.client import Sandbox

sandbox = Sandbox()
sandbox.start()
scratch = sandbox.layers["scratch"]
shutil.rmtree(sandbox.tmp.name)
results = []
run([Job(REFERENCE, hooks=False), Job(REFERENCE, hooks=False)],
    lambda job, result: results.append(result), sandbox=sandbox)
print(json.dumps({{"scratch": scratch, "results": [
    [r.score, r.max_score, r.output, [t.output for t in r.tests], r.extra.get("lost")]
    for r in results]}}))
"""


def test_a_host_that_fails_on_its_own_is_not_the_handins_fault(tmp_path):
    proc = subprocess.run([container.SYSTEM_PYTHON, str(HERE / "container.py"), "platform", "--",
                           sys.executable, "-c", SCENARIO], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout)
    assert seen["scratch"] is not None  # no tmpfs: the hand-in's folder is the host's to make
    (score, maximum, output, tests, lost), second = seen["results"]
    assert (score, maximum) == (0, MAXIMUM)
    assert output == (
        "Your hand-in could not be graded: engine.py: the grader's sandbox failed on its own "
        "(FileNotFoundError: No such file or directory), while grading this hand-in; please "
        "tell your instructor")
    assert not [t for t in tests if "brought down" in t]
    assert lost is True  # `grader batch --resume` grades it again
    assert second[:2] == [MAXIMUM, MAXIMUM]  # graded on a new host
