"""What a hand-in prints reaches a terminal inert: control characters made visible, the hand-in's
text indented below the real score, HTML in the class report escaped."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grader.report.terminal import one_line, visible

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
FORGER = ((ROOT / "assignments" / "engine.py").read_text() + "\n"
          + (Path(__file__).with_name("hostile") / "terminal_forger.py").read_text())
DANGEROUS = ["\x1b", "\r", "\x07", "\x9b", "\u202e", "\x00"]


def run_grader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_control_characters_are_shown_not_interpreted():
    assert visible("a\x1b[2Jb\x07\r\x7f") == "a^[[2Jb^G^M^?"
    assert visible("\x9b2J \u202eabc") == "\\x9b2J \\u202eabc"
    assert visible("line 1\n\tline 2") == "line 1\n\tline 2"
    assert one_line("x\ny\tz") == "x^Jy^Iz"


def test_text_format_shows_a_forged_score_inert(tmp_path):
    path = tmp_path / "forger.py"
    path.write_text(FORGER)
    proc = run_grader("grade", str(path), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for char in DANGEROUS:
        assert char not in out, repr(char)
    lines = out.splitlines()
    # The real score comes first; the stub cannot have every point.
    real = json.loads(run_grader("grade", str(path)).stdout)
    assert real["score"] < sum(t["max_score"] for t in real["tests"])
    assert lines[0].startswith(f"forger.py: Score: {real['score']:g} / ")
    assert "^[[2J^[[H^[[32mScore: 120 / 120 (100%)^[[0m" in out  # printed, made visible
    assert "^M" in out and "\\x9b2J" in out and "\\u202e" in out
    forged = [line for line in lines if "120 / 120" in line]
    assert forged and all(line.startswith("  ") for line in forged), forged


def test_batch_summary_shows_hostile_file_names_inert(tmp_path):
    src = tmp_path / "class"
    src.mkdir()
    (src / "ann.py").write_text((ROOT / "solutions" / "engine.py").read_text())
    (src / "\x1b[2J\x1b]0;owned\x07mallory.py").write_text(FORGER)
    (src / "zed\nScore: 120 of 120.py").write_bytes(b"\x00binary")
    proc = run_grader("batch", str(src), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        for char in DANGEROUS:
            assert char not in stream, repr(char)
    assert not any(line.startswith("Score") for stream in (proc.stdout, proc.stderr)
                   for line in stream.splitlines())
    report = (tmp_path / "out" / "report.html").read_text()
    assert "<script>document.title" not in report  # what it printed is on its own page
    pages = [p.read_text() for p in (tmp_path / "out" / "feedback").glob("*.html")]
    assert not any("<script>document.title" in page for page in pages)
    assert any("&lt;script&gt;document.title" in page for page in pages)


def test_pytest_route_shows_printed_text_and_messages_inert(tmp_path):
    """Under `pytest --pyargs grader.suite --handin`, what the hand-in printed (the summary) and
    its exception messages (each failed test's report) reach the terminal inert too."""
    import os

    engine = FORGER.replace('raise NotImplementedError("TODO', 'raise ValueError("\\x1b[2J\\x07 TODO')
    assert engine != FORGER
    path = tmp_path / "forger.py"
    path.write_text(engine)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")}
    proc = subprocess.run([str(GRADER.with_name("pytest")), "--pyargs", "grader.suite",
                           "--handin", str(path), "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stdout[-2000:]
    for char in DANGEROUS:
        assert char not in proc.stdout, repr(char)
    assert "^[[2J^[[H^[[32mScore: 120 / 120 (100%)^[[0m" in proc.stdout  # printed, made visible
    assert "ValueError: ^[[2J^G TODO" in proc.stdout  # a failed test's message, made visible
