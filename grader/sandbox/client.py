"""The trusted side's handle on the sandbox: start the host, load a hand-in, ask it questions.

Only plain data crosses: requests are recorded graphs, answers are lists of floats checked
here to be plain floats. Every wait has a deadline; a hand-in that hangs, exits or dies is
killed (with everything it started) and loaded afresh for the next question.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time

from . import bwrap, isolation, paths
from .host import HEADER, MAX_FRAME  # one definition of the wire format
from .isolation import Isolation
from .limits import Limits



GRACE = 0.5  # seconds past a request's limit before its process is killed
AFTER_HANG_SECONDS = 0.25


class Fault(Exception):
    """The hand-in did not answer: it hung, exited, crashed or spoke garbage."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class _Channel:
    """Length-prefixed JSON frames on a pipe, read with a deadline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = b""
        os.set_blocking(fd, False)

    def read(self, deadline: float | None, other: "_Channel | None" = None):
        """One frame from this channel; returns ("other", frame) if `other` speaks first."""
        while True:
            frame = self._pop()
            if frame is not None:
                return "self", frame
            if other is not None:
                frame = other._pop()
                if frame is not None:
                    return "other", frame
            fds = [self.fd] + ([other.fd] if other else [])
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if wait == 0.0:
                return "timeout", None
            ready, _, _ = select.select(fds, [], [], wait)
            if not ready:
                return "timeout", None
            for fd in ready:
                ch = self if fd == self.fd else other
                if not ch._fill():
                    return ("eof" if ch is self else "other-eof"), None

    def _fill(self) -> bool:
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _pop(self):
        if len(self.buf) < HEADER.size:
            return None
        (n,) = HEADER.unpack_from(self.buf)
        if n > MAX_FRAME:
            self.buf = b""
            return {"garbage": True}
        if len(self.buf) < HEADER.size + n:
            return None
        body, self.buf = self.buf[HEADER.size:HEADER.size + n], self.buf[HEADER.size + n:]
        try:
            return json.loads(body)
        except ValueError:
            return {"garbage": True}

    def drain(self):
        self.buf = b""
        while True:
            try:
                if not os.read(self.fd, 1 << 16):
                    return
            except BlockingIOError:
                return


def _write(fd: int, obj) -> None:
    body = json.dumps(obj).encode()
    data = HEADER.pack(len(body)) + body
    while data:
        select.select([], [fd], [])
        data = data[os.write(fd, data):]


class Sandbox:
    """One sandbox host process; it forks a fresh child for each hand-in it loads."""

    def __init__(self, limits: Limits = Limits(), settings: Isolation = Isolation()):
        self.limits = limits
        self.settings = settings
        self.imports = paths.Imports(settings.imports)
        self.proc = None
        self.launched = False
        self.mode = "bwrap" if bwrap.available() else "none"
        self.layers: dict[str, str | None] = {}  # layer -> None when it holds, else why not

    def start(self) -> None:
        """Launch the host unless `launch` already did, and wait until it is ready."""
        if self.proc is None:
            self.launch()
        self.ready()

    def launch(self) -> None:
        """Start the host without waiting for it, so a caller can import and set up meanwhile."""
        to_data = os.pipe()    # trusted -> hand-in
        from_data = os.pipe()  # hand-in -> trusted
        to_ctl = os.pipe()     # trusted -> host
        from_evt = os.pipe()   # host -> trusted
        child_fds = [to_data[0], from_data[1], to_ctl[0], from_evt[1]]
        self.imports.stage()
        cmd, self.mode = bwrap.command(child_fds, self.imports)
        self.confine = {"read": paths.runtime() + self.imports.readable(),
                        "hidden": paths.hidden(), "imports": self.imports.dir,
                        "layers": [] if isolation.turned_off() else list(isolation.UNPRIVILEGED)}
        self.tmp = tempfile.TemporaryDirectory(prefix="grader-sandbox-")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen(
            cmd, pass_fds=child_fds, cwd=self.tmp.name, env=env, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in child_fds:
            os.close(fd)
        self.data_w, self.ctl_w = to_data[1], to_ctl[1]
        self.data = _Channel(from_data[0])
        self.evt = _Channel(from_evt[0])
        self.launched = True

    def ready(self) -> None:
        """Wait for a launched host to say it is ready (once; later calls return at once)."""
        if not self.launched:
            return
        self.launched = False
        got, frame = self.evt.read(time.monotonic() + 10)
        if got != "self" or frame.get("event") != "ready":
            self.close()
            raise RuntimeError("the sandbox host did not start: " +
                               ("bwrap failed" if self.mode == "bwrap" else "python failed"))
        self.layers = {"namespaces": None if self.mode == "bwrap" else bwrap.unavailable(),
                       **frame.get("layers", {})}
        for name in isolation.UNPRIVILEGED:
            if name not in self.confine["layers"]:
                self.layers[name] = isolation.OFF
        if self.settings.strict and self.describe()["level"] != "full":
            sandbox = self.describe()
            self.close()
            raise RuntimeError(isolation.refusal(sandbox))

    def describe(self) -> dict:
        """`extra_data.sandbox`: the isolation level and what held (see isolation.py)."""
        return isolation.record(self.layers, self.imports.names)

    def close(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        # bwrap's namespace dies with it, but asynchronously: note who is inside, to wait for them
        inside = _process_tree(self.proc.pid)
        if kill:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
        try:
            _write(self.ctl_w, {"op": "exit"})
        except OSError:
            pass
        for fd in (self.data_w, self.ctl_w, self.data.fd, self.evt.fd):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _wait_gone(inside, deadline=time.monotonic() + 5.0)
        self.proc = None
        self.tmp.cleanup()
        self.imports.cleanup()

    def load(self, cells: list[dict]) -> "Handin":
        return Handin(self, cells)


class Handin:
    """A loaded hand-in. `ask` sends one graph request; faults restart it transparently."""

    def __init__(self, sandbox: Sandbox, cells: list[dict]):
        self.sandbox = sandbox
        self.cells = cells
        self.limits = sandbox.limits
        self.test_seconds = self.limits.test_seconds
        self.output, self.dropped = "", 0
        self.started = time.monotonic()
        self.alive = False
        self.next_id = 0

    # -- lifetime

    def _spawn(self) -> dict:
        sb = self.sandbox
        if sb.proc is None or sb.proc.poll() is not None:
            sb.proc = None
            sb.start()
        token = os.urandom(8).hex()
        self._send(sb.ctl_w, {"op": "spawn", "token": token, "limits": self.limits.to_json(),
                              "confine": sb.confine})
        self._send(sb.data_w, {"token": token, "cells": self.cells})  # straight to the child
        self.alive = True
        # each cell stops itself at cell_seconds; past that (and the grace) it is killed
        load = len(self.cells) * self.limits.cell_seconds + GRACE
        got, frame = self._receive(self._deadline(load))
        if "loaded" not in frame:
            raise Fault("load", "the hand-in did not finish loading")
        return frame

    def open(self) -> dict:
        """Load the hand-in; returns {"loaded": bool, "cell_errors": [...]}, or raises Fault."""
        return self._spawn()

    def close(self) -> None:
        if self.alive:
            try:
                _write(self.sandbox.data_w, {"op": "close"})
            except OSError:
                pass
            self._wait_ended(time.monotonic() + 1.0)

    def _deadline(self, seconds: float) -> float:
        budget_end = self.started + self.limits.handin_seconds
        return min(time.monotonic() + seconds, budget_end)

    def _receive(self, deadline: float):
        """The hand-in's next frame, or a Fault after it is killed and its leftovers drained."""
        sb = self.sandbox
        got, frame = sb.data.read(deadline, other=sb.evt)
        if got == "self" and "garbage" not in frame and "exited" not in frame:
            return got, frame
        if got == "timeout":
            self._kill()
            over = time.monotonic() >= self.started + self.limits.handin_seconds
            limit = self.test_seconds
            self.hung()
            raise Fault("timeout", (
                f"the hand-in used up its {self.limits.handin_seconds:g} s time budget"
                if over else f"did not finish in {limit:g} s"
                + (" (the limit once an earlier test hung)"
                   if limit < self.limits.test_seconds else "")))
        if got == "self" and "exited" in frame:
            self._wait_ended(time.monotonic() + 2.0)
            raise Fault("exit", "the hand-in exited the process")
        if got == "other":
            self._ended(frame)
            raise Fault("crash", self._death(frame))
        if got == "self":
            self._kill()
            raise Fault("crash", "the hand-in wrote something that is not an answer on the "
                                 "grader's channel")
        self._restart_host()
        raise Fault("crash", "the hand-in brought down its sandbox")

    def _send(self, fd: int, message: dict) -> None:
        """Write to the sandbox; a pipe the hand-in broke (by killing its host) is its fault."""
        try:
            _write(fd, message)
        except OSError:
            self._restart_host()
            raise Fault("crash", "the hand-in brought down its sandbox") from None

    def _death(self, ended: dict) -> str:
        if ended.get("signal") == 9:
            return "the hand-in's process was killed (out of memory or CPU time?)"
        if ended.get("signal"):
            return f"the hand-in's process died of signal {ended['signal']}"
        return f"the hand-in exited the process (exit code {ended.get('code')})"

    def _kill(self) -> None:
        try:
            _write(self.sandbox.ctl_w, {"op": "kill"})
        except OSError:
            self._restart_host()
            return
        self._wait_ended(time.monotonic() + 5.0)

    def _wait_ended(self, deadline: float) -> None:
        got, frame = self.sandbox.evt.read(deadline)
        if got != "self":
            self._restart_host()
            return
        self._ended(frame)

    def _ended(self, frame: dict) -> None:
        self.alive = False
        self.sandbox.data.drain()
        room = self.limits.output_bytes - len(self.output)
        text = frame.get("output", "")
        self.output += text[:max(room, 0)]
        self.dropped += frame.get("dropped", 0) + max(len(text) - max(room, 0), 0)

    def _restart_host(self) -> None:
        self.alive = False
        self.sandbox.close(kill=True)

    # -- questions

    def hung(self) -> None:
        """After one request ran out of time, later ones get much less: a working engine answers
        in milliseconds, and an endless loop must not cost its full limit in every test."""
        self.test_seconds = min(self.test_seconds, AFTER_HANG_SECONDS)

    def ask(self, request: dict) -> dict:
        """Send one graph request; the hand-in's answer, with floats checked to be floats."""
        if time.monotonic() >= self.started + self.limits.handin_seconds:
            raise Fault("timeout",
                        f"the hand-in used up its {self.limits.handin_seconds:g} s time budget")
        if not self.alive:
            self._spawn()
        self.next_id += 1
        request = dict(request, id=self.next_id, seconds=self.test_seconds)
        self._send(self.sandbox.data_w, request)
        while True:
            # the hand-in stops itself at `seconds` and says where; past the grace, it is killed
            _, frame = self._receive(self._deadline(self.test_seconds + GRACE))
            if frame.get("id") == self.next_id:
                try:
                    answer = _checked(frame, len(request["ops"]), request.get("backward", True))
                except Fault:
                    self._kill()  # whatever else it wrote must not answer the next request
                    raise
                if answer.get("error", {}).get("type") == "timeout":
                    if self.test_seconds < self.limits.test_seconds:
                        answer["error"]["message"] += " (the limit once an earlier test hung)"
                    self.hung()
                return answer


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, as this machine's /proc shows them."""
    tree, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        tree.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                frontier += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return tree


def _wait_gone(pids: list[int], deadline: float) -> None:
    for pid in pids:
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.005)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] != b"Z"  # a zombie has finished dying


def _checked(frame: dict, n: int, backward: bool = True) -> dict:
    if "error" in frame:
        err = frame["error"]
        if not isinstance(err, dict):
            raise Fault("crash", "the hand-in answered with something that is not an answer")
        return {"error": err}
    out = {}
    for key in ("data", "grad"):
        values = frame.get(key)
        if values is None and key == "grad" and not backward:
            out[key] = None
            continue
        if not isinstance(values, list) or len(values) != n or \
                not all(type(v) is float or type(v) is int for v in values):
            raise Fault("crash", "the hand-in answered with something that is not an answer")
        out[key] = [float(v) for v in values]
    return out


def warn_if_weak(sandbox: dict | None) -> None:
    """Say on stderr when hand-ins were isolated less than fully (see isolation.py)."""
    line = isolation.warning(sandbox) if sandbox else None
    if line:
        print(line, file=sys.stderr)
