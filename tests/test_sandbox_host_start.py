"""The sandbox host starts from its bytecode cache: Python compiles a script it is given on
every run (host.py is the largest module the sandbox runs), so the host is run as a script
would be, as `__main__` with the same `sys.argv`, but through its cache, which the trusted
side writes where it is missing and may be (it imports none of the host's modules but the
wire format); inside bubblewrap only the caches of the files shown beside it are shown."""
from __future__ import annotations

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import bwrap


def test_a_script_runs_as_main_with_its_arguments_from_its_cache(tmp_path):
    script = tmp_path / "host.py"
    script.write_text("import sys\nprint(__name__, sys.argv, 'compiled')\n")
    py_compile.compile(str(script), cfile=importlib.util.cache_from_source(str(script)))
    # the same size and time, another text: Python believes the cache, so what runs is the cache
    stat = script.stat()
    script.write_text("import sys\nprint(__name__, sys.argv, 'source!!')\n")
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    out = subprocess.run([sys.executable, "-I", "-S", "-B", *bwrap.run_host(str(script)),
                          "7", "cg"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == f"__main__ {[str(script), '7', 'cg']} compiled\n"


def test_without_a_cache_the_source_runs(tmp_path):
    script = tmp_path / "host.py"
    script.write_text("import sys\nprint(__name__, sys.argv[1:], 'source')\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-B", *bwrap.run_host(str(script)), "7"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == "__main__ ['7'] source\n"
    assert not (tmp_path / "__pycache__").exists()  # -B: nothing written


@pytest.mark.skipif(not bwrap.available(), reason="bubblewrap cannot make namespaces here")
def test_inside_bubblewrap_only_the_caches_of_the_host_and_the_modules_beside_it_are_shown():
    cmd, mode = bwrap.command(["3"])
    assert mode == "bwrap"
    binds = [(cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd) if a == "--ro-bind"]
    shown = [(src, dst) for src, dst in binds if "__pycache__" in dst]
    assert shown == bwrap.caches()
    assert sorted(Path(dst).name.split(".")[0] for _, dst in shown) == ["host", "standin", "wire"]
    for src, dst in shown:
        assert Path(src).is_file() and dst.startswith("/sandbox/__pycache__/")
    at = cmd.index("-c")
    assert cmd[at - 3:at] == ["-I", "-S", "-B"] and cmd[at + 2:] == ["3"]


def test_missing_caches_of_the_host_and_its_modules_are_written(monkeypatch):
    sources = [bwrap.HOST, bwrap.STANDIN, bwrap.WIRE, *bwrap.LAYERS.glob("*.py")]
    for source in sources[:3] + [bwrap.LAYERS / "landlock.py"]:  # none imported by this side
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as a plain `python` runs
    bwrap.compile_host.cache_clear()
    bwrap.compile_host()
    for source in sources:
        assert Path(importlib.util.cache_from_source(str(source))).is_file(), source
