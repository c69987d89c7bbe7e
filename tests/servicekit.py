"""What the service's tests share: hand-ins, a service in this process, a real server in another,
and an HTTP client of the API written with the standard library (as a script would be)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from mutants import REFERENCE, source

from grader.course.file import suite

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
STUB = (ROOT / "assignments" / "engine.py").read_text()
# The whole assignment's maximum, from the hidden suite's declared weights (not from grading).
MAXIMUM = sum(t.weight * t.cases for t in suite())


def handin(kind: str) -> bytes:
    if kind == "reference":
        return REFERENCE.read_bytes()
    if kind == "stub":
        return STUB.encode()
    if kind == "syntax":
        return REFERENCE.read_text().replace("def __add__(self, other):",
                                             "def __add__(self, other)", 1).encode()
    if kind == "novalue":
        return b"import math\n\ndef tanh(x):\n    return math.tanh(x)\n"
    if kind == "binary":
        return bytes(range(256)) * 8
    if kind == "latin1":
        return "# Größe\n".encode("latin-1") + REFERENCE.read_bytes()
    return source(kind).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Client:
    """The API as a script uses it, over HTTP."""

    def __init__(self, base: str, token: str | None):
        self.base, self.token = base, token

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        import urllib.error
        import urllib.request
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}

    def upload(self, data: bytes, filename: str = "engine.py") -> tuple[int, dict]:
        body, ctype = multipart("file", filename, data)
        return self.request("POST", "/api/v1/submissions", body, {"Content-Type": ctype})

    def get(self, sid) -> tuple[int, dict]:
        return self.request("GET", f"/api/v1/submissions/{sid}")

    def wait(self, sid, timeout: float = 300) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            code, body = self.get(sid)
            assert code == 200, body
            if body["status"] in ("done", "failed"):
                return body
            time.sleep(0.2)
        raise AssertionError(f"submission {sid} not graded in {timeout} s: {body}")


def token(data: Path, *args: str) -> str:
    out = subprocess.run([str(GRADER), "token", "--data", str(data), *args], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert len(lines) == 1, out  # the contract: the token is the only line on stdout
    return lines[0]


class Server:
    """`grader serve` in a process of its own, on a free port of 127.0.0.1."""

    def __init__(self, data: Path, *args: str, env: dict | None = None, cwd: Path | None = None):
        self.data, self.args, self.cwd = data, list(args), cwd
        self.env = dict(os.environ, **(env or {}))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 120) -> "Server":
        self.log = open(self.data.parent / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [str(GRADER), "serve", "--data", str(self.data), "--port", str(self.port),
             *self.args], stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
            start_new_session=True)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.output()
            try:
                if Client(self.base, None).request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not answer /healthz: " + self.output())

    def output(self) -> str:
        return (self.data.parent / f"serve-{self.port}.log").read_text(errors="replace")

    def kill(self) -> None:
        """kill -9 the server (its grading processes die with it)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
